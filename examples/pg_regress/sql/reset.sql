--
-- The setup step before each test: a fresh copy of the template as
-- myapp_test, called from the regression database.  Sessions left on
-- myapp_test are terminated; ALTER DATABASE settings are kept.  Whether a
-- spare was ready (swapped in) or not (copied, with a NOTICE) depends on
-- timing, so notices are not part of the expected output.
--
SET client_min_messages = warning;
SELECT dbreset.reset_database('myapp_test', 'myapp_template',
                              keep_spare => true) >= 0 AS reset;
