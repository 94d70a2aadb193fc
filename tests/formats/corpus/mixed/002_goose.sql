-- +goose Up
CREATE TABLE m_b (x INTEGER);
-- +goose Down
DROP TABLE m_b;
