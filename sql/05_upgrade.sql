--
-- The upgrade path: 1.0 installed as 1.0 did it, every ALTER EXTENSION
-- UPDATE stepped through, calls working before and after; the result has
-- the same objects as a fresh install; DROP EXTENSION of a fresh install
-- leaves nothing behind, its schema included.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dbreset;
RESET client_min_messages;

-- each version's schema: 1.0's control file said schema = dbreset, and
-- dbreset--1.0.control still does; 1.1 has none of its own
SELECT version, schema, relocatable, superuser
FROM pg_available_extension_versions WHERE name = 'dbreset'
ORDER BY 1;

-- 1.0, installed as 1.0 did it: CREATE EXTENSION makes schema dbreset
-- outside the extension and puts the extension in it; its update scripts
-- run with search_path = dbreset, where the functions' names print
-- unqualified
CREATE EXTENSION dbreset VERSION '1.0';
SELECT e.extversion, e.extnamespace::regnamespace AS schema,
       (SELECT count(*) FROM pg_depend d
        WHERE d.classid = 'pg_namespace'::regclass AND d.deptype = 'e'
          AND d.objid = 'dbreset'::regnamespace) AS schema_owned
FROM pg_extension e WHERE e.extname = 'dbreset';
CREATE DATABASE dbreset_upgrade1;
SELECT dbreset.force_drop_database('dbreset_upgrade1');

-- the 1.1 library serves 1.0's declarations until the update: calls as
-- 1.0 had them, positional and named
CREATE DATABASE dbreset_upgrade1;
SELECT count(*) FROM dbreset.sessions('dbreset_upgrade1');
SELECT count(*) FROM dbreset.terminate_sessions('dbreset_upgrade1', '1s');
SELECT dbreset.force_drop_database('dbreset_upgrade1', true, '2s');
SELECT dbreset.force_drop_database(dbname => 'dbreset_upgrade1', if_exists => true);

-- privileges granted (and revoked) since 1.0 was installed survive the
-- update, each on its own function
CREATE ROLE dbr_up_caller LOGIN;
CREATE ROLE dbr_up_killer LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval)
    TO dbr_up_caller WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval)
    TO dbr_up_caller, dbr_up_killer;
REVOKE EXECUTE ON FUNCTION dbreset.sessions(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbreset.sessions(name) TO dbr_up_killer;

ALTER EXTENSION dbreset UPDATE TO '1.1';

SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
       has_function_privilege('dbr_up_caller', p.oid, 'EXECUTE') AS caller_may,
       has_function_privilege('dbr_up_caller', p.oid, 'EXECUTE WITH GRANT OPTION') AS caller_may_grant,
       has_function_privilege('dbr_up_killer', p.oid, 'EXECUTE') AS killer_may,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
FROM pg_proc p
WHERE p.pronamespace = 'dbreset'::regnamespace
  AND p.proname IN ('sessions', 'terminate_sessions', 'force_drop_database')
ORDER BY 1;

-- 1.0's calls work the same after the update, by the role granted them
CREATE DATABASE dbreset_upgrade1 OWNER dbr_up_caller;
SET ROLE dbr_up_caller;
SELECT count(*) FROM dbreset.terminate_sessions('dbreset_upgrade1', '1s');
SELECT dbreset.force_drop_database('dbreset_upgrade1', false, '2s');
SELECT dbreset.force_drop_database(dbname => 'dbreset_upgrade1', timeout => '2s', if_exists => true);
RESET ROLE;
REVOKE ALL ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    FROM dbr_up_caller CASCADE;
REVOKE ALL ON FUNCTION dbreset.terminate_sessions(name, interval, interval)
    FROM dbr_up_caller, dbr_up_killer;
REVOKE ALL ON FUNCTION dbreset.sessions(name) FROM dbr_up_killer;
GRANT EXECUTE ON FUNCTION dbreset.sessions(name) TO PUBLIC;

-- the extension's members, their signatures and grants
CREATE TEMP VIEW members AS
SELECT pg_describe_object(classid, objid, 0) AS member,
       CASE WHEN classid = 'pg_proc'::regclass
            THEN pg_get_function_identity_arguments(objid) || ' -> ' ||
                 pg_get_function_result(objid) END AS signature,
       CASE WHEN classid = 'pg_proc'::regclass
            THEN (SELECT array(SELECT a::text
                               FROM unnest(coalesce(proacl, acldefault('f', proowner))) a
                               ORDER BY 1)::text
                  FROM pg_proc WHERE oid = objid) END AS acl
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dbreset');

SELECT extversion FROM pg_extension WHERE extname = 'dbreset';
CREATE DATABASE dbreset_upgrade2;
SELECT dbreset.force_drop_database('dbreset_upgrade2');

CREATE TEMP TABLE updated AS SELECT * FROM members;
SELECT member FROM updated ORDER BY 1;

-- an updated install keeps the schema it did not own (documented)
DROP EXTENSION dbreset;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'dbreset';
DROP SCHEMA dbreset;
-- its initial privileges went with the extension (17+ tracks them)
DROP ROLE dbr_up_caller, dbr_up_killer;

-- a pg_dump of an install that 1.0 made, updated or not, says this; it
-- restores as 1.1 in schema dbreset, the same as the updated install
CREATE SCHEMA dbreset;
CREATE EXTENSION IF NOT EXISTS dbreset WITH SCHEMA dbreset;
SELECT e.extversion, e.extnamespace::regnamespace AS schema
FROM pg_extension e WHERE e.extname = 'dbreset';
(SELECT 'only restored' AS diff, * FROM members EXCEPT SELECT 'only restored', * FROM updated)
UNION ALL
(SELECT 'only updated', * FROM updated EXCEPT SELECT 'only updated', * FROM members)
ORDER BY 1, 2;
DROP EXTENSION dbreset;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'dbreset';
DROP SCHEMA dbreset;

-- a fresh install: the same functions, same signatures and grants, plus
-- its schema
CREATE EXTENSION dbreset;
SELECT extversion FROM pg_extension WHERE extname = 'dbreset';
CREATE TEMP TABLE fresh AS SELECT * FROM members;
(SELECT 'only fresh' AS diff, * FROM fresh EXCEPT SELECT 'only fresh', * FROM updated)
UNION ALL
(SELECT 'only updated', * FROM updated EXCEPT SELECT 'only updated', * FROM fresh)
ORDER BY 1, 2;
DROP EXTENSION dbreset;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'dbreset';

-- leave it installed for the tests that follow
CREATE EXTENSION dbreset;
