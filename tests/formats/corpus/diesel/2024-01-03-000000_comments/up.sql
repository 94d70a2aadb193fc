CREATE TABLE comments (post_id INTEGER, body VARCHAR(200));
