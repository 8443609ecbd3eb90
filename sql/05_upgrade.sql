--
-- The upgrade path: 1.0 installed as 1.0 did it, every ALTER EXTENSION
-- UPDATE stepped through, calls working before and after; the result has
-- the same objects as a fresh install; DROP EXTENSION of a fresh install
-- leaves nothing behind, its schema included.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dbreset;
RESET client_min_messages;

-- 1.0: CREATE EXTENSION made schema dbreset outside the extension
CREATE SCHEMA dbreset;
CREATE EXTENSION dbreset VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'dbreset';
CREATE DATABASE dbreset_upgrade1;
SELECT dbreset.force_drop_database('dbreset_upgrade1');

ALTER EXTENSION dbreset UPDATE TO '1.1';

-- the extension's members, their signatures and grants
CREATE TEMP VIEW members AS
SELECT pg_describe_object(classid, objid, 0) AS member,
       CASE WHEN classid = 'pg_proc'::regclass
            THEN pg_get_function_identity_arguments(objid) || ' -> ' ||
                 pg_get_function_result(objid) END AS signature,
       CASE WHEN classid = 'pg_proc'::regclass
            THEN (SELECT proacl::text FROM pg_proc WHERE oid = objid) END AS acl
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
