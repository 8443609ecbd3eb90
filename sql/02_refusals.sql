--
-- Every refusal of force_drop_database() and terminate_sessions(), each
-- followed by a check that the database is still there.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default

CREATE DATABASE dbreset_keep;
CREATE VIEW still_there AS
    SELECT datname, datallowconn, datconnlimit FROM pg_database
    WHERE datname = 'dbreset_keep';

-- bad arguments
SELECT dbreset.force_drop_database(NULL);
SELECT dbreset.force_drop_database('');
SELECT dbreset.force_drop_database('dbreset_keep', false, NULL);
SELECT dbreset.force_drop_database('dbreset_keep', false, '0');
SELECT dbreset.force_drop_database('dbreset_keep', false, '-1 second');
SELECT * FROM dbreset.terminate_sessions(NULL);
SELECT * FROM dbreset.terminate_sessions('dbreset_keep', '-5s');
SELECT * FROM still_there;

-- no such database
SELECT dbreset.force_drop_database('dbreset_no_such_db');
SELECT * FROM dbreset.terminate_sessions('dbreset_no_such_db');
SELECT * FROM dbreset.sessions('dbreset_no_such_db');

-- protected by dbreset.protected_databases (default and custom)
SELECT dbreset.force_drop_database('postgres');
SELECT dbreset.force_drop_database('template1');
SET dbreset.protected_databases = 'dbreset_keep, postgres';
SELECT dbreset.force_drop_database('dbreset_keep');
SELECT dbreset.force_drop_database('dbreset_keep', if_exists => true);
RESET dbreset.protected_databases;
SELECT * FROM still_there;

-- the current database
SELECT dbreset.force_drop_database(current_database());
SELECT count(*) FROM pg_database WHERE datname = current_database();

-- a template database
CREATE DATABASE dbreset_tmpl IS_TEMPLATE true;
SELECT dbreset.force_drop_database('dbreset_tmpl');
SELECT datname, datistemplate FROM pg_database WHERE datname = 'dbreset_tmpl';
ALTER DATABASE dbreset_tmpl IS_TEMPLATE false;
SELECT dbreset.force_drop_database('dbreset_tmpl');

-- inside a transaction block, explicit or implicit
BEGIN;
SELECT dbreset.force_drop_database('dbreset_keep');
ROLLBACK;
SELECT 1 \; SELECT dbreset.force_drop_database('dbreset_keep');
-- a subtransaction too, even in an autocommit statement: nothing could
-- undo what the worker commits when the subtransaction rolls back
CREATE FUNCTION drop_guarded(db name) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RETURN dbreset.force_drop_database(db);
EXCEPTION WHEN undefined_object THEN
    RETURN -1;
END $$;
SELECT drop_guarded('dbreset_keep');
BEGIN;
SELECT drop_guarded('dbreset_keep');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT dbreset.force_drop_database('dbreset_keep');
ROLLBACK;
-- the same, sent as one query string
BEGIN \; SAVEPOINT s \; SELECT dbreset.force_drop_database('dbreset_keep') \; ROLLBACK;
ROLLBACK;
DROP FUNCTION drop_guarded(name);
SELECT * FROM still_there;

-- in a read-only transaction
SET default_transaction_read_only = on;
SELECT dbreset.force_drop_database('dbreset_keep');
RESET default_transaction_read_only;
SELECT * FROM still_there;

DROP VIEW still_there;
SELECT dbreset.force_drop_database('dbreset_keep');
