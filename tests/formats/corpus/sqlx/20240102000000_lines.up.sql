CREATE TABLE order_lines (order_id INTEGER, sku VARCHAR(40));
