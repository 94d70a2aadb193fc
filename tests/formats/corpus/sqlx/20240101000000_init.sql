-- sqlx: a file without markers is an up-only migration.
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer VARCHAR(100));
