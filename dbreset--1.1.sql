/* dbreset--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbreset" to load this file. \quit

-- The extension owns its schema: DROP EXTENSION removes it.  Unless the
-- extension is being installed in that schema, which it cannot own: 1.0's
-- control file put it there, and a pg_dump of an install that 1.0 made says
-- "CREATE SCHEMA dbreset; CREATE EXTENSION dbreset WITH SCHEMA dbreset".
-- Restored, such an install is as updating it would have left it.
DO $$
BEGIN
    IF (SELECT e.extnamespace FROM pg_catalog.pg_extension e
        WHERE e.extname = 'dbreset') IS DISTINCT FROM
       (SELECT n.oid FROM pg_catalog.pg_namespace n
        WHERE n.nspname = 'dbreset') THEN
        CREATE SCHEMA dbreset;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA dbreset TO PUBLIC;

CREATE FUNCTION dbreset.sessions(dbname name DEFAULT NULL)
RETURNS TABLE (pid int, datname name, usename name, application_name text,
               client_addr inet, backend_type text, state text,
               backend_start timestamptz, xact_start timestamptz,
               query_start timestamptz, wait_event_type text,
               wait_event text, query text, can_terminate boolean,
               database_state text)
AS 'MODULE_PATHNAME', 'dbreset_sessions'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;

COMMENT ON FUNCTION dbreset.sessions(name) IS
'sessions connected to a database (NULL: to any), read live, whether the caller may terminate each, and whether the database is open, locked or closed';

CREATE FUNCTION dbreset.terminate_sessions(dbname name,
                                           timeout interval DEFAULT '5s',
                                           grace interval DEFAULT '0')
RETURNS TABLE (pid int, usename name, application_name text,
               client_addr inet, state text, query text)
AS 'MODULE_PATHNAME', 'dbreset_terminate_sessions'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.terminate_sessions(name, interval, interval) IS
'terminate every other session connected to a database and wait until they are gone';

CREATE FUNCTION dbreset.force_drop_database(dbname name,
                                            if_exists boolean DEFAULT false,
                                            timeout interval DEFAULT '5s',
                                            grace interval DEFAULT '0',
                                            rollback_prepared boolean DEFAULT false)
RETURNS integer
AS 'MODULE_PATHNAME', 'dbreset_force_drop_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) IS
'drop a database, terminating the sessions connected to it; returns how many were terminated';

REVOKE ALL ON FUNCTION dbreset.terminate_sessions(name, interval, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) FROM PUBLIC;

CREATE FUNCTION dbreset.reset_database(dbname name, template name,
                                       keep_spare boolean DEFAULT false,
                                       timeout interval DEFAULT '5s',
                                       grace interval DEFAULT '0')
RETURNS integer
AS 'MODULE_PATHNAME', 'dbreset_reset_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval) IS
'drop a database and create it again from a template, terminating its sessions and keeping its owner, grants, comment, settings and limits; returns how many sessions were terminated';

CREATE FUNCTION dbreset.snapshot_database(dbname name, snapshot name,
                                          terminate_sessions boolean DEFAULT false,
                                          timeout interval DEFAULT '5s')
RETURNS void
AS 'MODULE_PATHNAME', 'dbreset_snapshot_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.snapshot_database(name, name, boolean, interval) IS
'copy a database into a sealed template (IS_TEMPLATE, no connections) to reset from later';

CREATE FUNCTION dbreset.clone_database(source name, target name,
                                       terminate_sessions boolean DEFAULT false,
                                       timeout interval DEFAULT '5s')
RETURNS void
AS 'MODULE_PATHNAME', 'dbreset_clone_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.clone_database(name, name, boolean, interval) IS
'CREATE DATABASE target TEMPLATE source, waiting for or terminating the sessions on the source';

REVOKE ALL ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION dbreset.snapshot_database(name, name, boolean, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION dbreset.clone_database(name, name, boolean, interval) FROM PUBLIC;

CREATE FUNCTION dbreset.spares()
RETURNS TABLE (spare name, dbname name, template name, state text)
AS 'MODULE_PATHNAME', 'dbreset_spares'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION dbreset.spares() IS
'spare copies kept by reset_database(keep_spare => true), old databases waiting to be dropped, and their state (''ready'' = usable now)';

CREATE FUNCTION dbreset.drop_spares(dbname name DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'dbreset_drop_spares'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.drop_spares(name) IS
'drop the spares and old databases kept for a database (NULL: for every database); returns how many were dropped';

REVOKE ALL ON FUNCTION dbreset.drop_spares(name) FROM PUBLIC;

CREATE FUNCTION dbreset.drop_blockers(dbname name)
RETURNS TABLE (kind text, object text, detail text, blocks boolean)
AS 'MODULE_PATHNAME', 'dbreset_drop_blockers'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;

COMMENT ON FUNCTION dbreset.drop_blockers(name) IS
'every reason force_drop_database() by the current user would fail now (blocks), and what it would do besides (not blocks); changes nothing';

CREATE FUNCTION dbreset.lock_database(dbname name,
                                      grace interval DEFAULT '0',
                                      timeout interval DEFAULT '5s')
RETURNS integer
AS 'MODULE_PATHNAME', 'dbreset_lock_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.lock_database(name, interval, interval) IS
'maintenance mode: commit ALLOW_CONNECTIONS false, then terminate the sessions; returns how many were terminated';

CREATE FUNCTION dbreset.unlock_database(dbname name)
RETURNS void
AS 'MODULE_PATHNAME', 'dbreset_unlock_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.unlock_database(name) IS
'allow connections again to a database that lock_database() locked';

CREATE FUNCTION dbreset.force_drop_databases(pattern text,
                                             dry_run boolean DEFAULT false,
                                             timeout interval DEFAULT '5s')
RETURNS TABLE (datname name, terminated integer, error text)
AS 'MODULE_PATHNAME', 'dbreset_force_drop_databases'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.force_drop_databases(text, boolean, interval) IS
'force-drop every database whose name matches a LIKE pattern, except templates, protected databases and the current one, each in its own transaction; one row per database';

REVOKE ALL ON FUNCTION dbreset.lock_database(name, interval, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION dbreset.unlock_database(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION dbreset.force_drop_databases(text, boolean, interval) FROM PUBLIC;
