-- +migrate Up notransaction
CREATE INDEX accounts_email ON accounts (email);

-- +migrate Down
DROP INDEX accounts_email;
