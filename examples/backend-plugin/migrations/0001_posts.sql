-- retort:message create posts
-- retort:up
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT ''
);
-- retort:down
DROP TABLE posts;
