--
-- force_drop_databases(): what it lists (templates, protected databases and
-- the current one left out), dry runs that change nothing, refusals with
-- their SQLSTATE, and a batch where one database fails and the others are
-- dropped.  Sessions on the databases, lock waits and a database re-created
-- during the batch: t/012_bulk.pl.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default
-- a call that hangs is a failure, not a stuck suite
SET statement_timeout = '30s';

CREATE ROLE dbr_bulk_owner LOGIN;
CREATE ROLE dbr_bulk_nogrant LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_databases(text, boolean, interval)
    TO dbr_bulk_owner;

-- bk_b, in the middle, belongs to someone else
CREATE DATABASE bk_a OWNER dbr_bulk_owner;
CREATE DATABASE bk_b;
CREATE DATABASE bk_c OWNER dbr_bulk_owner;
CREATE DATABASE bk_prot OWNER dbr_bulk_owner;
CREATE DATABASE bk_tmpl OWNER dbr_bulk_owner IS_TEMPLATE true;
CREATE DATABASE bkx_other OWNER dbr_bulk_owner;
SET dbreset.protected_databases = 'postgres, template0, template1, BK_PROT';
CREATE VIEW bk_databases AS
    SELECT datname, datistemplate FROM pg_database
    WHERE datname LIKE 'bk%' ORDER BY datname;

-- bad arguments
SELECT * FROM dbreset.force_drop_databases(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('bk\_%', NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('bk\_%', false, NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('bk\_%', false, '0');
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('bk\', true);
\echo :SQLSTATE
SELECT * FROM bk_databases;

-- a dry run lists the matching databases that are not templates, not
-- protected and not the current one, and changes nothing
SELECT * FROM dbreset.force_drop_databases('bk\_%', dry_run => true);
SELECT * FROM dbreset.force_drop_databases('bk%', true);
SELECT * FROM bk_databases;

-- no match, templates, protected databases, the current database: no rows
SELECT * FROM dbreset.force_drop_databases('bk\_nothing%', dry_run => true);
SELECT * FROM dbreset.force_drop_databases('bk\_nothing%');
SELECT * FROM dbreset.force_drop_databases('template%', dry_run => true);
SELECT * FROM dbreset.force_drop_databases('template%');
SELECT * FROM dbreset.force_drop_databases('bk\_tmpl');
SELECT * FROM dbreset.force_drop_databases('postgres');
SELECT * FROM dbreset.force_drop_databases('bk\_prot');
SELECT * FROM dbreset.force_drop_databases(current_database(), dry_run => true);
SELECT * FROM dbreset.force_drop_databases(current_database());
SELECT count(*) FROM pg_database WHERE datname = current_database();
SELECT * FROM bk_databases;

-- a dry run is allowed in a transaction block; the drop is not
BEGIN;
SELECT * FROM dbreset.force_drop_databases('bk\_%', dry_run => true);
COMMIT;
BEGIN;
SELECT * FROM dbreset.force_drop_databases('bk\_%');
\echo :SQLSTATE
ROLLBACK;
BEGIN;
SELECT * FROM dbreset.force_drop_databases('bk\_nothing%');
\echo :SQLSTATE
ROLLBACK;
SELECT * FROM bk_databases;

-- without EXECUTE: core's function privilege error
SET ROLE dbr_bulk_nogrant;
SELECT * FROM dbreset.force_drop_databases('bk\_%');
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('bk\_%', dry_run => true);
\echo :SQLSTATE
RESET ROLE;
SELECT * FROM bk_databases;

-- the owner of bk_a and bk_c but not of bk_b: the dry run says what
-- would stop bk_b (and asks for no EXECUTE on force_drop_database(), which
-- the batch does not need); bk_b's row says why, the others are dropped
-- all the same
SET ROLE dbr_bulk_owner;
SELECT * FROM dbreset.force_drop_databases('bk\_%', dry_run => true);
SELECT * FROM dbreset.force_drop_databases('bk\_%');
RESET ROLE;
SELECT * FROM bk_databases;

-- what is left, as the superuser
SELECT * FROM dbreset.force_drop_databases('bk\_%');
SELECT * FROM bk_databases;

RESET dbreset.protected_databases;
DROP VIEW bk_databases;
DROP DATABASE bk_prot;
ALTER DATABASE bk_tmpl IS_TEMPLATE false;
DROP DATABASE bk_tmpl;
DROP DATABASE bkx_other;
REVOKE ALL ON FUNCTION dbreset.force_drop_databases(text, boolean, interval)
    FROM dbr_bulk_owner;
DROP ROLE dbr_bulk_owner, dbr_bulk_nogrant;
