-- Written in sql-migrate's layout.
-- +migrate Up
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(200));

-- +migrate Down
DROP TABLE accounts;
