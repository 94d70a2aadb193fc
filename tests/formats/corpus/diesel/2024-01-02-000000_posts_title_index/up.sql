CREATE INDEX posts_title ON posts (title);
