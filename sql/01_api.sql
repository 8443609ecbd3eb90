--
-- The SQL surface: extension, schema, signatures, privileges, settings,
-- and the plain paths of each function.
--
CREATE EXTENSION dbreset;

SELECT e.extname, e.extversion, n.nspname, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'dbreset';

-- every function, its result, volatility, strictness and parallel safety
SET search_path = dbreset, public;
SELECT p.oid::regprocedure AS function,
       pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p
WHERE p.pronamespace = 'dbreset'::regnamespace
ORDER BY p.proname;
RESET search_path;

-- defaults as documented
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments
FROM pg_proc p
WHERE p.pronamespace = 'dbreset'::regnamespace
ORDER BY 1;

-- destructive functions are not for PUBLIC; the listing is
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p
WHERE p.pronamespace = 'dbreset'::regnamespace
ORDER BY 1;

-- every function is documented
SELECT p.proname, obj_description(p.oid, 'pg_proc') IS NOT NULL AS has_comment
FROM pg_proc p
WHERE p.pronamespace = 'dbreset'::regnamespace
ORDER BY 1;

-- settings and their defaults (dbreset.test_stop_at: test builds only)
SELECT name, boot_val, context, vartype FROM pg_settings
WHERE name LIKE 'dbreset.%' AND name <> 'dbreset.test_stop_at' ORDER BY 1;
-- the list must parse
SET dbreset.protected_databases = 'a, "b';

-- a database with nobody connected: nothing to terminate, dropped
CREATE DATABASE dbreset_api1;
SELECT * FROM dbreset.sessions('dbreset_api1');
SELECT * FROM dbreset.terminate_sessions('dbreset_api1');
SELECT dbreset.force_drop_database('dbreset_api1');
SELECT count(*) FROM pg_database WHERE datname = 'dbreset_api1';

-- IF EXISTS on a missing database: a notice and 0
SELECT dbreset.force_drop_database('dbreset_api1', if_exists => true);

-- named arguments and a custom timeout
CREATE DATABASE dbreset_api2;
SELECT dbreset.force_drop_database(dbname => 'dbreset_api2', timeout => '250ms');
SELECT count(*) FROM pg_database WHERE datname = 'dbreset_api2';

-- the pre-13 flow: terminate, wait, plain DROP DATABASE
SET dbreset.use_force_option = off;
CREATE DATABASE dbreset_api3;
SELECT dbreset.force_drop_database('dbreset_api3');
SELECT count(*) FROM pg_database WHERE datname = 'dbreset_api3';
RESET dbreset.use_force_option;

-- a quoted, mixed-case name
CREATE DATABASE "DbReset Api4";
SELECT dbreset.force_drop_database('DbReset Api4');
SELECT count(*) FROM pg_database WHERE datname = 'DbReset Api4';

-- a database left invalid by an interrupted DROP DATABASE can be dropped
CREATE DATABASE dbreset_invalid;
UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'dbreset_invalid';
SELECT dbreset.force_drop_database('dbreset_invalid');
SELECT count(*) FROM pg_database WHERE datname = 'dbreset_invalid';

-- callable from PL/pgSQL and from DO, in an autocommit statement
CREATE FUNCTION drop_it(db name) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN 'terminated ' || dbreset.force_drop_database(db);
END $$;
CREATE DATABASE dbreset_api5;
SELECT drop_it('dbreset_api5');
DO $$ BEGIN PERFORM dbreset.force_drop_database('dbreset_api5', if_exists => true); END $$;
DROP FUNCTION drop_it(name);

-- the listing never shows the caller, and always names the database
SELECT count(*) FROM dbreset.sessions() WHERE pid = pg_backend_pid();
SELECT count(*) FROM dbreset.sessions(current_database()) WHERE pid = pg_backend_pid();
SELECT count(*) FROM dbreset.sessions() WHERE datname IS NULL;
