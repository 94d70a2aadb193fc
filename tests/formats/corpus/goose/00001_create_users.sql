-- Written in goose's layout: <version>_<name>.sql, annotations as goose documents them.
-- +goose Up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);

-- +goose Down
DROP TABLE users;
