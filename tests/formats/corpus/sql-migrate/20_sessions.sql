-- +migrate Up
CREATE TABLE sessions (id INTEGER PRIMARY KEY);
-- +migrate Down
DROP TABLE sessions;
