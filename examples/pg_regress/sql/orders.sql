--
-- A test that changes data: it starts from the seed data whatever ran
-- before it.
--
\c myapp_test
SELECT count(*) AS orders FROM orders;
INSERT INTO orders VALUES (2, 2, 25.50), (3, 2, 4.50);
SELECT customer_id, sum(amount) FROM orders GROUP BY 1 ORDER BY 1;
-- the foreign key holds
DELETE FROM customers WHERE id = 1;
SHOW statement_timeout;
