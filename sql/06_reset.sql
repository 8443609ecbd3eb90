--
-- reset_database(), snapshot_database() and clone_database(): what a reset
-- keeps (a field-by-field comparison of the catalogs before and after),
-- what the copies are, and every refusal that needs no second session, each
-- with its SQLSTATE and followed by a check that nothing was lost.
-- Sessions on the database or on the template: t/009_reset.pl.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default
-- a call that hangs is a failure, not a stuck suite
SET statement_timeout = '30s';

CREATE ROLE dbr_app_owner LOGIN CREATEDB;
CREATE ROLE dbr_app_reader LOGIN;
CREATE ROLE dbr_app_grantor LOGIN;
CREATE ROLE dbr_no_createdb LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval),
    dbreset.snapshot_database(name, name, boolean, interval),
    dbreset.clone_database(name, name, boolean, interval)
    TO dbr_app_owner, dbr_app_reader, dbr_no_createdb;

-- a database with everything DROP + CREATE would lose
CREATE DATABASE dbr_app OWNER dbr_app_owner;
COMMENT ON DATABASE dbr_app IS 'the application''s database';
ALTER DATABASE dbr_app SET work_mem = '7MB';
ALTER DATABASE dbr_app CONNECTION LIMIT 17;
ALTER ROLE dbr_app_reader IN DATABASE dbr_app SET search_path = app, public;
REVOKE CONNECT, TEMPORARY ON DATABASE dbr_app FROM PUBLIC;
GRANT CONNECT ON DATABASE dbr_app TO dbr_app_reader;
GRANT CREATE ON DATABASE dbr_app TO dbr_app_grantor WITH GRANT OPTION;
SET ROLE dbr_app_grantor;
GRANT CREATE ON DATABASE dbr_app TO dbr_app_reader;
RESET ROLE;
\c dbr_app
CREATE TABLE before_reset (id int);
\c contrib_regression
SET statement_timeout = '30s';

-- everything of a database that a reset should keep, as one jsonb value
CREATE FUNCTION db_props(db name) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(d) - '{oid,datfrozenxid,datminmxid,datlastsysoid}'::text[]
        || jsonb_build_object(
            'comment', shobj_description(d.oid, 'pg_database'),
            'settings', (SELECT jsonb_agg(jsonb_build_array(
                                    s.setrole::regrole, s.setconfig)
                                ORDER BY s.setrole::regrole::text)
                         FROM pg_db_role_setting s
                         WHERE s.setdatabase = d.oid),
            'shared_dependencies', (SELECT jsonb_agg(jsonb_build_array(
                                    sd.refobjid::regrole, sd.deptype)
                                ORDER BY sd.refobjid::regrole::text, sd.deptype)
                         FROM pg_shdepend sd
                         WHERE sd.classid = 'pg_database'::regclass
                           AND sd.objid = d.oid),
            'labels', (SELECT jsonb_agg(jsonb_build_array(l.provider, l.label))
                       FROM pg_shseclabel l
                       WHERE l.classoid = 'pg_database'::regclass
                         AND l.objoid = d.oid))
    FROM pg_database d WHERE d.datname = db
$$;

-- what differs between two db_props() values, one row per key
CREATE FUNCTION props_diff(a jsonb, b jsonb)
RETURNS TABLE (key text, before jsonb, after jsonb) LANGUAGE sql AS $$
    SELECT key, x.value, y.value
    FROM jsonb_each(a) x FULL JOIN jsonb_each(b) y USING (key)
    WHERE x.value IS DISTINCT FROM y.value
    ORDER BY key
$$;

CREATE TABLE saved (label text PRIMARY KEY, props jsonb, dboid oid);
-- a setting long and random enough to be stored out of line (TOAST)
DO $$
BEGIN
    EXECUTE format('ALTER ROLE dbr_app_owner IN DATABASE dbr_app SET dbr.long = %L',
                   (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i));
END $$;
SELECT length(setconfig[1]) AS long_setting
FROM pg_db_role_setting
WHERE setrole = 'dbr_app_owner'::regrole;
INSERT INTO saved
    SELECT 'before', db_props('dbr_app'), oid FROM pg_database
    WHERE datname = 'dbr_app';

-- the reset, by the owner (SET ROLE: the worker acts as the current user)
SET ROLE dbr_app_owner;
SELECT dbreset.reset_database('dbr_app', 'template1');
RESET ROLE;

-- the same row, settings, comment, grants and dependencies ...
SELECT * FROM props_diff((SELECT props FROM saved WHERE label = 'before'),
                         db_props('dbr_app'));
SELECT datdba::regrole, datconnlimit, datallowconn, datistemplate, datacl,
       shobj_description(oid, 'pg_database') AS comment
FROM pg_database WHERE datname = 'dbr_app';
SELECT setrole::regrole, left(setconfig::text, 40) AS setconfig,
       length(setconfig::text)
FROM pg_db_role_setting
WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = 'dbr_app')
ORDER BY 1::text;
-- ... the same OID where the major allows it (15+) ...
SELECT (d.oid = s.dboid) = (current_setting('server_version_num')::int >= 150000)
       AS oid_kept_where_possible
FROM pg_database d, saved s WHERE d.datname = 'dbr_app' AND s.label = 'before';
-- ... and fresh contents
\c dbr_app
SELECT count(*) AS tables_before_reset FROM pg_class WHERE relname = 'before_reset';
CREATE TABLE in_snapshot (id int);
INSERT INTO in_snapshot VALUES (1), (2);
SHOW work_mem;
\c contrib_regression
SET statement_timeout = '30s';

-- a snapshot is a sealed template with a comment; a reset restores it
SELECT dbreset.snapshot_database('dbr_app', 'dbr_app_snap');
SELECT datname, datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)
           AS owned_by_caller, datistemplate, datallowconn,
       shobj_description(oid, 'pg_database')
           LIKE 'snapshot of database "dbr_app" taken by dbreset.snapshot_database() at %'
           AS commented
FROM pg_database WHERE datname = 'dbr_app_snap';
\c dbr_app
DROP TABLE in_snapshot;
\c contrib_regression
SET statement_timeout = '30s';
-- psql's \c leaves the old session to exit on its own: wait for it, or
-- the reset would count it among the sessions it terminated
DO $$ BEGIN WHILE EXISTS (SELECT FROM dbreset.sessions('dbr_app')) LOOP PERFORM pg_sleep(0.01); END LOOP; END $$;
SELECT dbreset.reset_database('dbr_app', 'dbr_app_snap');
SELECT * FROM props_diff((SELECT props FROM saved WHERE label = 'before'),
                         db_props('dbr_app'));
\c dbr_app
SELECT * FROM in_snapshot ORDER BY id;
\c contrib_regression
SET statement_timeout = '30s';

-- a clone is a plain copy, owned by its creator
SELECT dbreset.clone_database('dbr_app_snap', 'dbr_app_clone');
SELECT datname, datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)
           AS owned_by_caller, datistemplate, datallowconn, datacl,
       shobj_description(oid, 'pg_database') AS comment
FROM pg_database WHERE datname = 'dbr_app_clone';
\c dbr_app_clone
SELECT * FROM in_snapshot ORDER BY id;
\c contrib_regression
SET statement_timeout = '30s';

-- other encoding or locale settings than the template's: only template0
-- may be copied into them, as in core
SELECT CASE WHEN encoding = pg_char_to_encoding('UTF8') THEN 'SQL_ASCII'
            ELSE 'UTF8' END AS other_encoding
FROM pg_database WHERE datname = 'template1' \gset
CREATE DATABASE dbr_other_enc TEMPLATE template0 ENCODING :'other_encoding'
    LC_COLLATE 'C' LC_CTYPE 'C';
INSERT INTO saved
    SELECT 'other_enc', db_props('dbr_other_enc'), oid FROM pg_database
    WHERE datname = 'dbr_other_enc';
-- (the detail lists the settings, which differ from machine to machine)
\set VERBOSITY terse
SELECT dbreset.reset_database('dbr_other_enc', 'template1');
\echo :SQLSTATE
\set VERBOSITY default
SELECT dbreset.reset_database('dbr_other_enc', 'template0');
SELECT * FROM props_diff((SELECT props FROM saved WHERE label = 'other_enc'),
                         db_props('dbr_other_enc'));

-- refusals; after each, dbr_app is still there with its properties
CREATE VIEW app_unchanged AS
    SELECT count(*) AS differences
    FROM props_diff((SELECT props FROM saved WHERE label = 'before'),
                    db_props('dbr_app'));

-- bad arguments
SELECT dbreset.reset_database(NULL, 'template1');
\echo :SQLSTATE
SELECT dbreset.reset_database('dbr_app', NULL);
\echo :SQLSTATE
SELECT dbreset.reset_database('', 'template1');
\echo :SQLSTATE
SELECT dbreset.reset_database('dbr_app', 'template1', false, '0');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('dbr_app', NULL);
\echo :SQLSTATE
SELECT dbreset.clone_database(NULL, 'dbr_x');
\echo :SQLSTATE
SELECT dbreset.clone_database('dbr_app', 'dbr_x', false, NULL);
\echo :SQLSTATE
SELECT * FROM app_unchanged;

-- not in a transaction block
BEGIN;
SELECT dbreset.reset_database('dbr_app', 'template1');
\echo :SQLSTATE
ROLLBACK;
BEGIN;
SELECT dbreset.snapshot_database('dbr_app', 'dbr_x');
\echo :SQLSTATE
ROLLBACK;
BEGIN;
SELECT dbreset.clone_database('dbr_app', 'dbr_x');
\echo :SQLSTATE
ROLLBACK;

-- the database itself as template, a template, this database, a missing one
SELECT dbreset.reset_database('dbr_app', 'dbr_app');
\echo :SQLSTATE
SELECT dbreset.reset_database('dbr_app_snap', 'template1');
\echo :SQLSTATE
SELECT dbreset.reset_database('template1', 'template0');
\echo :SQLSTATE
SELECT dbreset.reset_database(current_database(), 'template1');
\echo :SQLSTATE
SELECT dbreset.reset_database('dbr_no_such_db', 'template1');
\echo :SQLSTATE
SELECT dbreset.reset_database('dbr_app', 'dbr_no_such_template');
\echo :SQLSTATE
SELECT * FROM app_unchanged;

-- copying this database: its own session would be in the way
SELECT dbreset.reset_database('dbr_app', current_database());
\echo :SQLSTATE
SELECT dbreset.clone_database(current_database(), 'dbr_x');
\echo :SQLSTATE
SELECT * FROM app_unchanged;

-- protected by dbreset.protected_databases
SET dbreset.protected_databases = 'dbr_app';
SELECT dbreset.reset_database('dbr_app', 'template1');
\echo :SQLSTATE
RESET dbreset.protected_databases;

-- a target that exists, a source that does not
SELECT dbreset.clone_database('dbr_app_snap', 'dbr_app');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('dbr_app', 'dbr_app_snap');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('dbr_no_such_db', 'dbr_x');
\echo :SQLSTATE
SELECT count(*) AS copies_left_behind FROM pg_database WHERE datname = 'dbr_x';

-- privileges: core's rules for DROP DATABASE and CREATE DATABASE ... TEMPLATE
CREATE DATABASE dbr_private;			-- owned by the superuser, not a template
CREATE DATABASE dbr_no_createdb_db OWNER dbr_no_createdb;
SET ROLE dbr_app_reader;				-- not the owner
SELECT dbreset.reset_database('dbr_app', 'template1');
\echo :SQLSTATE
SELECT dbreset.clone_database('dbr_private', 'dbr_x');
\echo :SQLSTATE
RESET ROLE;
SET ROLE dbr_no_createdb;				-- the owner, without CREATEDB
SELECT dbreset.reset_database('dbr_no_createdb_db', 'template1');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('dbr_no_createdb_db', 'dbr_x');
\echo :SQLSTATE
RESET ROLE;
SET ROLE dbr_app_owner;					-- a source it may not copy
SELECT dbreset.reset_database('dbr_app', 'dbr_private');
\echo :SQLSTATE
SELECT dbreset.clone_database('dbr_private', 'dbr_x');
\echo :SQLSTATE
RESET ROLE;
SELECT * FROM app_unchanged;
SELECT datname FROM pg_database
WHERE datname IN ('dbr_private', 'dbr_no_createdb_db', 'dbr_x') ORDER BY 1;

-- not granted to PUBLIC
SET ROLE dbr_app_grantor;
SELECT dbreset.reset_database('dbr_app', 'template1');
\echo :SQLSTATE
SELECT dbreset.clone_database('dbr_app_snap', 'dbr_x');
\echo :SQLSTATE
RESET ROLE;

-- keep_spare: only a sealed template can have a spare (t/010_spare.pl
-- has the spares themselves)
SELECT dbreset.reset_database('dbr_app', 'template1', keep_spare => true);
SELECT * FROM props_diff((SELECT props FROM saved WHERE label = 'before'),
                         db_props('dbr_app'));
SELECT * FROM dbreset.spares();
SELECT dbreset.drop_spares();
SELECT dbreset.drop_spares('dbr_no_such_db');
\echo :SQLSTATE
BEGIN;
SELECT dbreset.drop_spares('dbr_app');
\echo :SQLSTATE
ROLLBACK;
SET ROLE dbr_app_grantor;
SELECT dbreset.drop_spares('dbr_app');
\echo :SQLSTATE
RESET ROLE;

-- clean up
ALTER DATABASE dbr_app_snap IS_TEMPLATE false;
DROP DATABASE dbr_app_snap;
DROP DATABASE dbr_app_clone;
DROP DATABASE dbr_app;
DROP DATABASE dbr_other_enc;
DROP DATABASE dbr_private;
DROP DATABASE dbr_no_createdb_db;
DROP TABLE saved CASCADE;
DROP FUNCTION props_diff(jsonb, jsonb);
DROP FUNCTION db_props(name);
REVOKE ALL ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval),
    dbreset.snapshot_database(name, name, boolean, interval),
    dbreset.clone_database(name, name, boolean, interval)
    FROM dbr_app_owner, dbr_app_reader, dbr_no_createdb;
DROP ROLE dbr_app_owner, dbr_app_reader, dbr_app_grantor, dbr_no_createdb;
