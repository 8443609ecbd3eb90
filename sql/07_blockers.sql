--
-- drop_blockers(): every reason force_drop_database() by the current user
-- would fail now, changing nothing.  For each refusal that one session can
-- set up (those of 02_refusals and 03_privileges, a lock held by a prepared
-- transaction, a prepared transaction, a subscription): the rows, then
-- force_drop_database() failing with the matching error, then the database
-- still there.  No blocking row: the drop succeeds.  Sessions, slots and
-- the equivalence over every refusal are in t/011_blockers.pl.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default
SET statement_timeout = '30s';
SELECT current_database() AS origdb \gset

-- the rows without what changes from run to run: pids, role names,
-- timestamps; an autovacuum worker that happens to visit is left out
CREATE FUNCTION blockers(db name)
RETURNS TABLE (kind text, object text, detail text, blocks boolean)
LANGUAGE sql AS $$
    SELECT b.kind,
           regexp_replace(b.object, 'pid [0-9]+', 'pid N'),
           regexp_replace(regexp_replace(b.detail, 'role "[^"]*"', 'role R'),
                          ' at .*$', ' at T'),
           b.blocks
    FROM dbreset.drop_blockers(db) WITH ORDINALITY AS b
    WHERE b.object <> 'autovacuum worker'
    ORDER BY b.ordinality
$$;

CREATE DATABASE dbr_bl;
CREATE VIEW still_there AS
    SELECT count(*) AS still_there FROM pg_database WHERE datname = 'dbr_bl';

-- the result's columns; nothing in the way
SELECT * FROM dbreset.drop_blockers('dbr_bl');

-- bad names: the same errors as force_drop_database()
SELECT * FROM dbreset.drop_blockers(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.drop_blockers('');
\echo :SQLSTATE
SELECT * FROM dbreset.drop_blockers('dbr_no_such_db');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('dbr_no_such_db');
\echo :SQLSTATE

-- protected by dbreset.protected_databases, by default or by setting
SELECT * FROM blockers('template1');
SELECT dbreset.force_drop_database('template1');
\echo :SQLSTATE
SET dbreset.protected_databases = 'postgres, DBR_BL';
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
RESET dbreset.protected_databases;
SELECT * FROM still_there;

-- the current database
SELECT kind, detail, blocks FROM blockers(current_database());
SELECT dbreset.force_drop_database(current_database());
\echo :SQLSTATE

-- a template database
CREATE DATABASE dbr_bl_tmpl IS_TEMPLATE true;
SELECT * FROM blockers('dbr_bl_tmpl');
SELECT dbreset.force_drop_database('dbr_bl_tmpl');
\echo :SQLSTATE
SELECT datname FROM pg_database WHERE datname = 'dbr_bl_tmpl';
ALTER DATABASE dbr_bl_tmpl IS_TEMPLATE false;
SELECT * FROM blockers('dbr_bl_tmpl');
SELECT dbreset.force_drop_database('dbr_bl_tmpl');

-- a read-only transaction
SET default_transaction_read_only = on;
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
RESET default_transaction_read_only;
SELECT * FROM still_there;

-- privileges: EXECUTE on force_drop_database(), ownership of the database
CREATE ROLE dbr_bl_owner;
CREATE ROLE dbr_bl_other;
CREATE ROLE dbr_bl_nogrant;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    TO dbr_bl_owner, dbr_bl_other;
ALTER DATABASE dbr_bl OWNER TO dbr_bl_owner;
SET ROLE dbr_bl_nogrant;
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
RESET ROLE;
SET ROLE dbr_bl_other;
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
RESET ROLE;
SET ROLE dbr_bl_owner;
SELECT * FROM blockers('dbr_bl');
RESET ROLE;
SELECT * FROM still_there;

-- a lock on the database held by another transaction -- here a prepared
-- one, which has no process
BEGIN;
COMMENT ON DATABASE dbr_bl IS 'held';
PREPARE TRANSACTION 'dbr_bl_lock';
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl', timeout => '300ms');
\echo :SQLSTATE
ROLLBACK PREPARED 'dbr_bl_lock';
SELECT * FROM still_there;

-- a prepared transaction of the database
\c dbr_bl
BEGIN;
CREATE TABLE t (i int);
PREPARE TRANSACTION 'dbr_bl_gx';
\c :origdb
SET statement_timeout = '30s';
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
\c dbr_bl
ROLLBACK PREPARED 'dbr_bl_gx';
\c :origdb
SET statement_timeout = '30s';
SELECT * FROM still_there;

-- a subscription in the database
\c dbr_bl
SET client_min_messages = error;
CREATE SUBSCRIPTION dbr_bl_sub CONNECTION 'dbname=dbr_nowhere'
    PUBLICATION dbr_bl_pub WITH (connect = false);
RESET client_min_messages;
\c :origdb
SET statement_timeout = '30s';
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
\c dbr_bl
ALTER SUBSCRIPTION dbr_bl_sub SET (slot_name = NONE);
DROP SUBSCRIPTION dbr_bl_sub;
\c :origdb
SET statement_timeout = '30s';
SELECT * FROM still_there;

-- how the function is called is not reported: inside a transaction block
-- there is no row, yet force_drop_database() refuses to run there
BEGIN;
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
\echo :SQLSTATE
ROLLBACK;

-- the database's state never blocks: closed by hand, locked by
-- lock_database(), invalid (an interrupted DROP DATABASE)
ALTER DATABASE dbr_bl ALLOW_CONNECTIONS false;
SELECT * FROM blockers('dbr_bl');
ALTER DATABASE dbr_bl ALLOW_CONNECTIONS true;
SELECT dbreset.lock_database('dbr_bl');
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.unlock_database('dbr_bl');
SELECT * FROM blockers('dbr_bl');
CREATE DATABASE dbr_bl_invalid;
UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'dbr_bl_invalid';
SELECT * FROM blockers('dbr_bl_invalid');
SELECT dbreset.force_drop_database('dbr_bl_invalid');
SELECT count(*) FROM pg_database WHERE datname = 'dbr_bl_invalid';

-- nothing in the way: the drop succeeds
SELECT * FROM blockers('dbr_bl');
SELECT dbreset.force_drop_database('dbr_bl');
SELECT * FROM still_there;

DROP VIEW still_there;
DROP FUNCTION blockers(name);
REVOKE ALL ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    FROM dbr_bl_owner, dbr_bl_other;
DROP ROLE dbr_bl_owner, dbr_bl_other, dbr_bl_nogrant;
