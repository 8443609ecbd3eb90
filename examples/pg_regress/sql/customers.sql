--
-- Runs after orders.sql: its inserts are gone, the seed data is back.
--
\c myapp_test
SELECT count(*) AS orders FROM orders;
DELETE FROM orders;
DELETE FROM customers;
SELECT count(*) AS customers FROM customers;
