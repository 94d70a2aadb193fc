-- migrate:up
CREATE TABLE m_a (x INTEGER);
-- migrate:down
DROP TABLE m_a;
