--
-- Permissions mirror DROP DATABASE: ownership (or membership in the owning
-- role), with the caller's identity carried into the background worker:
-- SET ROLE, NOLOGIN roles and SECURITY DEFINER behave as in core.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;

CREATE ROLE dbr_owner LOGIN;
CREATE ROLE dbr_other LOGIN;
CREATE ROLE dbr_member LOGIN IN ROLE dbr_owner;
CREATE ROLE dbr_nologin NOLOGIN;
CREATE ROLE dbr_nogrant LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    TO dbr_owner, dbr_other, dbr_member, dbr_nologin;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval, interval)
    TO dbr_owner, dbr_other;

CREATE DATABASE dbr_db1 OWNER dbr_owner;
CREATE DATABASE dbr_db2 OWNER dbr_owner;
CREATE DATABASE dbr_db3 OWNER dbr_nologin;
CREATE DATABASE dbr_db4 OWNER dbr_owner;

-- without EXECUTE: core's function privilege error
SET ROLE dbr_nogrant;
SELECT dbreset.force_drop_database('dbr_db1');
SELECT * FROM dbreset.terminate_sessions('dbr_db1');
-- the listing is open to everyone
SELECT count(*) FROM dbreset.sessions('dbr_db1');
RESET ROLE;

-- not the owner: core's message, database kept
SET ROLE dbr_other;
SELECT dbreset.force_drop_database('dbr_db1');
SELECT current_user, session_user = current_user AS same_as_session;
RESET ROLE;
SELECT datname FROM pg_database WHERE datname = 'dbr_db1';

-- the owner may, and so may a member of the owning role
SET ROLE dbr_owner;
SELECT dbreset.force_drop_database('dbr_db1');
RESET ROLE;
SET ROLE dbr_member;
SELECT dbreset.force_drop_database('dbr_db2');
RESET ROLE;
SELECT datname FROM pg_database WHERE datname IN ('dbr_db1', 'dbr_db2');

-- a NOLOGIN role reached through SET ROLE
SET ROLE dbr_nologin;
SELECT dbreset.force_drop_database('dbr_db3');
RESET ROLE;
SELECT datname FROM pg_database WHERE datname = 'dbr_db3';

-- SECURITY DEFINER: the function owner's rights, not the caller's
CREATE FUNCTION public.drop_as_owner(db name) RETURNS integer
LANGUAGE sql SECURITY DEFINER
AS $$ SELECT dbreset.force_drop_database(db) $$;
ALTER FUNCTION public.drop_as_owner(name) OWNER TO dbr_owner;
CREATE FUNCTION public.drop_as_other(db name) RETURNS integer
LANGUAGE sql SECURITY DEFINER
AS $$ SELECT dbreset.force_drop_database(db) $$;
ALTER FUNCTION public.drop_as_other(name) OWNER TO dbr_other;
GRANT EXECUTE ON FUNCTION public.drop_as_owner(name), public.drop_as_other(name) TO dbr_nogrant;

SET ROLE dbr_nogrant;
SELECT public.drop_as_other('dbr_db4');
SELECT public.drop_as_owner('dbr_db4');
RESET ROLE;
SELECT datname FROM pg_database WHERE datname = 'dbr_db4';

-- only superusers may change the settings
SET ROLE dbr_owner;
SET dbreset.protected_databases = '';
SET dbreset.use_force_option = off;
RESET ROLE;

DROP FUNCTION public.drop_as_owner(name), public.drop_as_other(name);
REVOKE ALL ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    FROM dbr_owner, dbr_other, dbr_member, dbr_nologin;
REVOKE ALL ON FUNCTION dbreset.terminate_sessions(name, interval, interval)
    FROM dbr_owner, dbr_other;
DROP ROLE dbr_member, dbr_owner, dbr_other, dbr_nologin, dbr_nogrant;
