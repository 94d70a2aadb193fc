DROP INDEX products_name;
