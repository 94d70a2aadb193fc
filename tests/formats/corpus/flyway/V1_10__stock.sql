-- V1_10 runs after V1_2: Flyway compares version segments as numbers.
CREATE TABLE stock (product_id INTEGER, qty INTEGER);
