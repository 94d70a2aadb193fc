-- retort:message index posts by title
-- retort:up
CREATE INDEX posts_title_idx ON posts (title);
-- retort:down
DROP INDEX posts_title_idx;
