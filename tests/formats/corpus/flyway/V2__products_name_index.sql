-- retort:no-transaction
CREATE INDEX products_name ON products (name);
