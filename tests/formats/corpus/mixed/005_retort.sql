-- retort:up
CREATE TABLE m_e (x INTEGER);
-- retort:down
DROP TABLE m_e;
