-- +migrate Up
-- +migrate StatementBegin
CREATE TABLE audit (id INTEGER PRIMARY KEY, note VARCHAR(100));
INSERT INTO audit (id, note) VALUES (1, 'a; b; c');
-- +migrate StatementEnd

-- +migrate Down
DROP TABLE audit;
