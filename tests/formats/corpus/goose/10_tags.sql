-- Sequential version 10 after 00004: goose orders versions as numbers.
-- +goose Up
CREATE TABLE tags (id INTEGER PRIMARY KEY);
-- +goose Down
DROP TABLE tags;
