-- +migrate Up
CREATE TABLE m_d (x INTEGER);
-- +migrate Down
DROP TABLE m_d;
