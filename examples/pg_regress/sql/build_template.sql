--
-- Build the template once per run: the schema and the seed data every test
-- starts from, then seal it -- IS_TEMPLATE, ALLOW_CONNECTIONS false -- so
-- that nobody changes it and reset_database() can keep a spare copy ready.
-- (A project would load its schema here with \i or pg_restore.)
--
CREATE DATABASE myapp_template;
\c myapp_template
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY,
                     customer_id int NOT NULL REFERENCES customers,
                     amount numeric(10, 2) NOT NULL);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');
INSERT INTO orders VALUES (1, 1, 10.00);
\c myapp_regression
ALTER DATABASE myapp_template IS_TEMPLATE true ALLOW_CONNECTIONS false;

-- the database the tests use, with a setting reset_database() keeps
CREATE DATABASE myapp_test TEMPLATE myapp_template;
ALTER DATABASE myapp_test SET statement_timeout = '1min';
