CREATE TABLE prices (product_id INTEGER, amount INTEGER);
