-- +goose Up
-- +goose ENVSUB ON
INSERT INTO users (id, name) VALUES (1, '${RETORT_CORPUS_UNSET_NAME:-goose-default}');
-- +goose ENVSUB OFF
INSERT INTO users (id, name) VALUES (2, '${kept as written}');

-- +goose Down
DELETE FROM users;
