DROP TABLE diesel_setup;
