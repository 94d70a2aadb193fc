-- +goose up
-- +goose statementbegin
CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200));
INSERT INTO notes (id, body) VALUES (1, 'semicolons; inside; a block');
-- +goose StatementEnd

-- +goose down
-- +goose StatementBegin
DROP TABLE notes;
-- +goose StatementEnd
