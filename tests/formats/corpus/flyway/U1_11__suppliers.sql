DROP TABLE suppliers;
