/* dbreset--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION dbreset UPDATE TO '1.1'" to load this file. \quit

-- 1.1 adds reset_database(), snapshot_database(), clone_database(), spares()
-- and drop_spares();
-- of 1.0's objects it changes only comments.  Its C library refuses calls
-- after a write, never returns while its worker runs, and mirrors core's
-- permissions.
--
-- A fresh 1.1 install owns its schema.  An install updated from 1.0 cannot:
-- 1.0 lives in schema dbreset itself, and an extension may not own the
-- schema it is in.  After DROP EXTENSION, such an install leaves the empty
-- schema dbreset behind (README, "Uninstall").

CREATE FUNCTION dbreset.reset_database(dbname name, template name,
                                       keep_spare boolean DEFAULT false,
                                       timeout interval DEFAULT '5s')
RETURNS integer
AS 'MODULE_PATHNAME', 'dbreset_reset_database'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION dbreset.reset_database(name, name, boolean, interval) IS
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

REVOKE ALL ON FUNCTION dbreset.reset_database(name, name, boolean, interval) FROM PUBLIC;
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
