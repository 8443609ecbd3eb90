--
-- Every refusal of force_drop_database() and terminate_sessions(), each
-- with its SQLSTATE (psql's :SQLSTATE) and followed by a check that the
-- database is still there.  TAP (t/007_refusals.pl) repeats the refusals
-- with a session connected to the database, which must survive.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default
-- a call that hangs is a failure, not a stuck suite
SET statement_timeout = '30s';

CREATE DATABASE dbreset_keep;
CREATE VIEW still_there AS
    SELECT datname, datallowconn, datconnlimit FROM pg_database
    WHERE datname = 'dbreset_keep';

-- bad arguments
SELECT dbreset.force_drop_database(NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('dbreset_keep', false, NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('dbreset_keep', false, '0');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('dbreset_keep', false, '-1 second');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('dbreset_keep', '-5s');
\echo :SQLSTATE
SELECT * FROM still_there;

-- no such database
SELECT dbreset.force_drop_database('dbreset_no_such_db');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('dbreset_no_such_db');
\echo :SQLSTATE
SELECT * FROM dbreset.sessions('dbreset_no_such_db');
\echo :SQLSTATE

-- protected by dbreset.protected_databases (default and custom)
SELECT dbreset.force_drop_database('postgres');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('template1');
\echo :SQLSTATE
SET dbreset.protected_databases = 'dbreset_keep, postgres';
SELECT dbreset.force_drop_database('dbreset_keep');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('dbreset_keep', if_exists => true);
\echo :SQLSTATE
RESET dbreset.protected_databases;
SELECT * FROM still_there;

-- an entry protects the database of that name in any letter case: Prod,
-- unquoted, is read as prod, and must still protect "Prod" and "PROD"
CREATE DATABASE "Prod";
CREATE DATABASE "PROD";
SET dbreset.protected_databases = 'postgres, template0, template1, Prod';
SELECT dbreset.force_drop_database('Prod');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('PROD');
\echo :SQLSTATE
SET dbreset.protected_databases = 'postgres, "PROD"';
SELECT dbreset.force_drop_database('Prod');
\echo :SQLSTATE
RESET dbreset.protected_databases;
SELECT datname FROM pg_database WHERE datname IN ('Prod', 'PROD') ORDER BY 1;
SELECT dbreset.force_drop_database('Prod'), dbreset.force_drop_database('PROD');

-- the current database
SELECT dbreset.force_drop_database(current_database());
\echo :SQLSTATE
SELECT count(*) FROM pg_database WHERE datname = current_database();

-- a template database
CREATE DATABASE dbreset_tmpl IS_TEMPLATE true;
SELECT dbreset.force_drop_database('dbreset_tmpl');
\echo :SQLSTATE
SELECT datname, datistemplate FROM pg_database WHERE datname = 'dbreset_tmpl';
ALTER DATABASE dbreset_tmpl IS_TEMPLATE false;
SELECT dbreset.force_drop_database('dbreset_tmpl');

-- inside a transaction block, explicit or implicit
BEGIN;
SELECT dbreset.force_drop_database('dbreset_keep');
\echo :SQLSTATE
ROLLBACK;
SELECT 1 \; SELECT dbreset.force_drop_database('dbreset_keep');
\echo :SQLSTATE
-- a subtransaction too, even in an autocommit statement: nothing could
-- undo what the worker commits when the subtransaction rolls back
CREATE FUNCTION drop_guarded(db name) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RETURN dbreset.force_drop_database(db);
EXCEPTION WHEN undefined_object THEN
    RETURN -1;
END $$;
SELECT drop_guarded('dbreset_keep');
\echo :SQLSTATE
BEGIN;
SELECT drop_guarded('dbreset_keep');
\echo :SQLSTATE
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT dbreset.force_drop_database('dbreset_keep');
\echo :SQLSTATE
ROLLBACK;
-- the same, sent as one query string
BEGIN \; SAVEPOINT s \; SELECT dbreset.force_drop_database('dbreset_keep') \; ROLLBACK;
\echo :SQLSTATE
ROLLBACK;
DROP FUNCTION drop_guarded(name);
SELECT * FROM still_there;

-- after the transaction has written: refused before anything is locked or
-- started, and the write rolls back with the error (the worker could
-- neither see nor wait for it, and would drop the database anyway)
DO $$
BEGIN
    ALTER DATABASE dbreset_keep ALLOW_CONNECTIONS false;
    PERFORM dbreset.force_drop_database('dbreset_keep', timeout => '1s');
END $$;
\echo :SQLSTATE
DO $$
BEGIN
    COMMENT ON DATABASE dbreset_keep IS 'commented';
    PERFORM dbreset.force_drop_database('dbreset_keep');
END $$;
\echo :SQLSTATE
DO $$
BEGIN
    ALTER DATABASE dbreset_keep SET work_mem = '8MB';
    PERFORM dbreset.force_drop_database('dbreset_keep');
END $$;
\echo :SQLSTATE
-- a write to any table counts, not only to the database's own rows
CREATE TABLE written (i int);
DO $$
BEGIN
    INSERT INTO written VALUES (1);
    PERFORM dbreset.force_drop_database('dbreset_keep');
END $$;
\echo :SQLSTATE
SELECT count(*) AS rows_written FROM written;
DROP TABLE written;
SELECT * FROM still_there;
SELECT shobj_description(oid, 'pg_database') AS comment,
       (SELECT count(*) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings
FROM pg_database d WHERE datname = 'dbreset_keep';

-- in a read-only transaction
SET default_transaction_read_only = on;
SELECT dbreset.force_drop_database('dbreset_keep');
\echo :SQLSTATE
RESET default_transaction_read_only;
SELECT * FROM still_there;

DROP VIEW still_there;
SELECT dbreset.force_drop_database('dbreset_keep');
