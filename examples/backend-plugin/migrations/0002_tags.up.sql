-- retort:message create tags and the post-tag link
CREATE TABLE tags (name TEXT PRIMARY KEY);
CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts (id),
    tag TEXT NOT NULL REFERENCES tags (name),
    PRIMARY KEY (post_id, tag)
);
