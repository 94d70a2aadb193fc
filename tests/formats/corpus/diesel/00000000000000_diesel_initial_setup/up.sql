-- diesel writes this directory first; here it only records a marker table.
CREATE TABLE diesel_setup (x INTEGER);
