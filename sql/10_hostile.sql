--
-- Hostile input (issue 17): every function and every argument given NULL,
-- the empty name, 63- and 64-byte names (multibyte too), quotes, spaces,
-- semicolons, an injection string, mixed case, the protected names, a
-- template that is the target, a copy onto an existing name, intervals of
-- every sign and size.  Each call either does what it says to exactly that
-- database or fails with its SQLSTATE; after each group, dbs_changed()
-- lists every database created (+) or dropped (-) since the group before,
-- so that nothing else was touched.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
\set VERBOSITY default
-- a call that hangs is a failure, not a stuck suite
SET statement_timeout = '60s';

-- a database name as the diff shows it: quoted as an identifier, or, if it
-- is not ASCII, its length in bytes and its last four bytes in hex (the
-- regression database's encoding may not be UTF8)
CREATE FUNCTION shown(n name) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n::text ~ '^[ -~]*$' THEN quote_ident(n)
           ELSE format('<%s bytes ending %s>', octet_length(n::text),
                       encode(substr(textsend(n::text),
                                     octet_length(n::text) - 3), 'hex'))
           END
$$;
CREATE TABLE dbs_seen AS SELECT datname FROM pg_database;
CREATE FUNCTION dbs_changed() RETURNS TABLE (change text, datname text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
        SELECT c.change, shown(c.n) FROM (
            SELECT '+'::text AS change, d.datname AS n FROM pg_database d
            WHERE d.datname NOT IN (SELECT s.datname FROM dbs_seen s)
            UNION ALL
            SELECT '-', s.datname FROM dbs_seen s
            WHERE s.datname NOT IN (SELECT d.datname FROM pg_database d)) c
        ORDER BY c.n COLLATE "C", c.change;
    DELETE FROM dbs_seen;
    INSERT INTO dbs_seen SELECT d.datname FROM pg_database d;
END
$$;

CREATE DATABASE hx_a;
CREATE DATABASE hx_t;
SELECT * FROM dbs_changed();

--
-- NULL and the empty name, in every argument of every function
--
SELECT dbreset.force_drop_database(NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('');
\echo :SQLSTATE
-- a NULL flag is an error too, never false: if_exists => NULL once
-- dropped hx_a as if it were false
SELECT dbreset.force_drop_database('hx_a', NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_no_such_db', NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '5s', NULL);
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '5s', '0', NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('hx\_a', NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('hx\_a', false, NULL);
\echo :SQLSTATE
-- the empty pattern matches the empty name only: no database
SELECT * FROM dbreset.force_drop_databases('', true);
SELECT * FROM dbreset.force_drop_databases('');
-- NULL: the sessions on every database
SELECT count(*) >= 0 AS listed FROM dbreset.sessions(NULL);
SELECT * FROM dbreset.sessions('');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('hx_a', NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('hx_a', '5s', NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.drop_blockers(NULL);
\echo :SQLSTATE
SELECT * FROM dbreset.drop_blockers('');
\echo :SQLSTATE
SELECT dbreset.reset_database(NULL, 'hx_t');
\echo :SQLSTATE
SELECT dbreset.reset_database('', 'hx_t');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', NULL);
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', '');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_t', NULL);
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_t', false, NULL);
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_t', false, '5s', NULL);
\echo :SQLSTATE
SELECT dbreset.snapshot_database(NULL, 'hx_s');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('', 'hx_s');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', NULL);
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', '');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'hx_s', NULL);
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'hx_s', false, NULL);
\echo :SQLSTATE
SELECT dbreset.clone_database(NULL, 'hx_c');
\echo :SQLSTATE
SELECT dbreset.clone_database('', 'hx_c');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', NULL);
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', '');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', 'hx_c', NULL);
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', 'hx_c', false, NULL);
\echo :SQLSTATE
-- spares() has no argument; drop_spares(NULL) means every database's
SELECT * FROM dbreset.spares() WHERE dbname LIKE 'hx\_%';
SELECT dbreset.drop_spares('');
\echo :SQLSTATE
SELECT dbreset.drop_spares('hx_a');
SELECT dbreset.lock_database(NULL);
\echo :SQLSTATE
SELECT dbreset.lock_database('');
\echo :SQLSTATE
SELECT dbreset.lock_database('hx_a', NULL);
\echo :SQLSTATE
SELECT dbreset.lock_database('hx_a', '0', NULL);
\echo :SQLSTATE
SELECT dbreset.unlock_database(NULL);
\echo :SQLSTATE
SELECT dbreset.unlock_database('');
\echo :SQLSTATE
-- nothing created, dropped or locked
SELECT datname, datallowconn, datistemplate FROM pg_database
WHERE datname LIKE 'hx\_%' ORDER BY 1;
SELECT * FROM dbs_changed();

--
-- intervals: zero, negative, sub-millisecond, huge, infinite
--
-- timeouts must be positive; graces must not be negative
SELECT dbreset.force_drop_database('hx_a', false, '0');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '-1 microsecond');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '1 month -30 days');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '1 day -86400.000001 seconds');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', false, '-178000000 years');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', grace => '-1 microsecond');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', grace => '-178000000 years');
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('hx\_a', false, '-1s');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('hx_a', '0');
\echo :SQLSTATE
SELECT * FROM dbreset.terminate_sessions('hx_a', grace => '-1s');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_t', timeout => '-1s');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_t', grace => '-1s');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'hx_s', timeout => '0');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', 'hx_c', timeout => '-1 day');
\echo :SQLSTATE
SELECT dbreset.lock_database('hx_a', grace => '-1s');
\echo :SQLSTATE
SELECT dbreset.lock_database('hx_a', timeout => '0');
\echo :SQLSTATE
-- 'infinity' is an interval from PostgreSQL 17 on; before, the largest
-- finite one stands in for it (both are capped at INT_MAX milliseconds)
SELECT CASE WHEN current_setting('server_version_num')::int >= 170000
            THEN 'infinity' ELSE '178000000 years' END AS infinite,
       CASE WHEN current_setting('server_version_num')::int >= 170000
            THEN '-infinity' ELSE '-178000000 years' END AS minus_infinite
\gset
SELECT dbreset.force_drop_database('hx_a', false, :'minus_infinite');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_a', grace => :'minus_infinite');
\echo :SQLSTATE
-- sub-millisecond, huge and infinite ones are accepted: nobody is
-- connected, so none is waited out
SELECT * FROM dbreset.terminate_sessions('hx_a', '1 microsecond', '1 microsecond');
SELECT * FROM dbreset.terminate_sessions('hx_a', '1000000 years', '1000000 years');
SELECT * FROM dbreset.terminate_sessions('hx_a', :'infinite', :'infinite');
SELECT dbreset.lock_database('hx_a', '1000000 years', :'infinite');
SELECT dbreset.unlock_database('hx_a');
SELECT dbreset.clone_database('hx_a', 'hx_c', false, '1 microsecond');
SELECT dbreset.snapshot_database('hx_a', 'hx_s', false, :'infinite');
SELECT dbreset.reset_database('hx_c', 'hx_s', false, '1000000 years', :'infinite');
SELECT dbreset.reset_database('hx_c', 'hx_t', false, :'infinite', '1 microsecond');
SELECT * FROM dbreset.force_drop_databases('hx\_c', false, :'infinite');
SELECT dbreset.force_drop_database('hx_a', false, '1 microsecond', '1 microsecond');
CREATE DATABASE hx_a;
SELECT dbreset.force_drop_database('hx_a', false, '1000000 years', :'infinite', false);
CREATE DATABASE hx_a;
SELECT datname, datallowconn, datistemplate FROM pg_database
WHERE datname LIKE 'hx\_%' ORDER BY 1;
SELECT * FROM dbs_changed();

--
-- 63- and 64-byte names: a name argument is cut to 63 bytes by the name
-- type, as core cuts an identifier (with a NOTICE, which a function's
-- argument cannot give): the 64-byte name reaches the 63-byte database
--
SELECT 'hx_' || repeat('a', 60) AS a63, 'hx_' || repeat('a', 61) AS a64,
       'hx_' || repeat('b', 60) AS b63, 'hx_' || repeat('b', 61) AS b64,
       'hx_' || repeat('s', 65) AS s68
\gset
SELECT octet_length(:'a63'), octet_length(:'a64'::name), :'a64'::name = :'a63' AS same;
SELECT format('CREATE DATABASE %I', :'a63') \gexec
SELECT * FROM dbs_changed();
SELECT count(*) FROM dbreset.sessions(:'a64');
SELECT count(*) FILTER (WHERE blocks) AS blocking FROM dbreset.drop_blockers(:'a64');
SELECT * FROM dbreset.terminate_sessions(:'a64', grace => '1s');
SELECT dbreset.lock_database(:'a64');
SELECT datname = :'a63' AS is_a63, datallowconn FROM pg_database
WHERE datname LIKE 'hx\_aaa%';
SELECT dbreset.unlock_database(:'a64');
SELECT datname = :'a63' AS is_a63, datallowconn FROM pg_database
WHERE datname LIKE 'hx\_aaa%';
SELECT dbreset.clone_database(:'a64', :'b64');
SELECT dbreset.snapshot_database(:'a64', :'s68');
SELECT * FROM dbs_changed();
-- a 64-byte template that is the 63-byte target is the target itself
SELECT dbreset.reset_database(:'a63', :'a64');
\echo :SQLSTATE
SELECT dbreset.clone_database(:'a63', :'a64');
\echo :SQLSTATE
SELECT dbreset.snapshot_database(:'a64', :'a63');
\echo :SQLSTATE
SELECT dbreset.reset_database(:'a64', :'s68');
SELECT dbreset.drop_spares(:'a64');
SELECT * FROM dbs_changed();
-- core does the same with an identifier: DROP DATABASE of the 64-byte
-- name drops the 63-byte one
SELECT format('DROP DATABASE %I', :'b64') \gexec
SELECT dbreset.force_drop_database(:'a64');
SELECT format('ALTER DATABASE %I IS_TEMPLATE false', :'s68') \gexec
-- a pattern is text, not a name: a 68-byte one matches no database
SELECT * FROM dbreset.force_drop_databases(:'s68', true);
SELECT * FROM dbreset.force_drop_databases('hx\_sss%');
SELECT * FROM dbs_changed();

--
-- quotes, spaces, semicolons, an injection, mixed case: each name is one
-- database, reached exactly, never a piece of a statement
--
CREATE TABLE hostile_names (n name PRIMARY KEY);
INSERT INTO hostile_names VALUES
    ('hx_say "hi"'), ('hx_it''s'), ('hx_two  words'), ('hx_semi;colon'),
    ('hx_''; DROP DATABASE postgres; --'),
    ('hx_"; DROP DATABASE hx_t; --'),
    ('hx_back\slash'), ('hx_MyDb'), ('hx_mydb'), ('hx_ lead and trail ');
SELECT format('CREATE DATABASE %I', n) FROM hostile_names
ORDER BY n COLLATE "C" \gexec
SELECT * FROM dbs_changed();
-- each function, on each name
SELECT n, (SELECT count(*) FROM dbreset.sessions(n)) AS sessions,
       (SELECT count(*) FILTER (WHERE blocks) FROM dbreset.drop_blockers(n)) AS blocking,
       (SELECT count(*) FROM dbreset.terminate_sessions(n, grace => '1s')) AS terminated
FROM hostile_names ORDER BY n COLLATE "C";
SELECT n, dbreset.lock_database(n) FROM hostile_names ORDER BY n COLLATE "C";
SELECT datname, datallowconn FROM pg_database
WHERE datname IN (SELECT n FROM hostile_names) ORDER BY datname COLLATE "C";
SELECT n, dbreset.unlock_database(n) FROM hostile_names ORDER BY n COLLATE "C";
SELECT datname, datallowconn FROM pg_database
WHERE datname IN (SELECT n FROM hostile_names) ORDER BY datname COLLATE "C";
SELECT n, dbreset.snapshot_database(n, n || ' snap'),
       dbreset.clone_database(n, n || ' clone')
FROM hostile_names ORDER BY n COLLATE "C";
SELECT * FROM dbs_changed();
-- each snapshot's comment names its own source, whole
SELECT count(*) AS snapshots_naming_their_source FROM hostile_names h
JOIN pg_database d ON d.datname = h.n || ' snap'
WHERE d.datistemplate AND NOT d.datallowconn
  AND left(shobj_description(d.oid, 'pg_database'),
           length(format('snapshot of database "%s" taken ', h.n)))
      = format('snapshot of database "%s" taken ', h.n);
SELECT n, dbreset.reset_database(n, n || ' snap'), dbreset.drop_spares(n)
FROM hostile_names ORDER BY n COLLATE "C";
-- snapshots are templates: only their names are dropped
SELECT dbreset.force_drop_database(n || ' snap') FROM hostile_names LIMIT 1;
\echo :SQLSTATE
SELECT format('ALTER DATABASE %I IS_TEMPLATE false', n || ' snap')
FROM hostile_names ORDER BY n COLLATE "C" \gexec
SELECT n, dbreset.force_drop_database(n || ' snap')
FROM hostile_names ORDER BY n COLLATE "C";
SELECT * FROM dbs_changed();
-- mixed case: "hx_MyDb" and hx_mydb are two databases; a name in another
-- case is not found (only the protected names are matched in any case)
SELECT dbreset.force_drop_database('HX_MYDB');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('hx_MyDb');
SELECT * FROM dbs_changed();
-- LIKE patterns are data too: each matches exactly its database
SELECT * FROM dbreset.force_drop_databases('hx_''; DROP DATABASE postgres; --', true);
SELECT * FROM dbreset.force_drop_databases('hx_"; DROP DATABASE hx_t; --');
SELECT * FROM dbreset.force_drop_databases('hx\_it''s');
-- a pattern ending in its escape character is LIKE's error
SELECT * FROM dbreset.force_drop_databases('hx\_back\', true);
\echo :SQLSTATE
SELECT * FROM dbreset.force_drop_databases('hx\_back\\slash');
SELECT * FROM dbs_changed();
SELECT n, dbreset.force_drop_database(n, if_exists => true),
       dbreset.force_drop_database(n || ' clone')
FROM hostile_names ORDER BY n COLLATE "C";
SELECT * FROM dbs_changed();

--
-- the protected names, in any letter case; template = target; a copy onto
-- an existing name
--
SELECT dbreset.force_drop_database('postgres');
\echo :SQLSTATE
SELECT dbreset.force_drop_database('Template1');
\echo :SQLSTATE
-- fails safe: protected even where no database has that exact name
SELECT dbreset.force_drop_database('POSTGRES', if_exists => true);
\echo :SQLSTATE
SELECT dbreset.reset_database('template0', 'hx_t');
\echo :SQLSTATE
SELECT dbreset.reset_database('postgres', 'hx_t', grace => '1s');
\echo :SQLSTATE
CREATE DATABASE "Postgres";
SELECT dbreset.force_drop_database('Postgres');
\echo :SQLSTATE
SELECT dbreset.reset_database('Postgres', 'hx_t');
\echo :SQLSTATE
-- a batch skips them whatever the pattern
SELECT * FROM dbreset.force_drop_databases('%ostgres', true);
SELECT * FROM dbreset.force_drop_databases('_ostgres');
SELECT * FROM dbreset.force_drop_databases('template_', true);
SELECT * FROM dbs_changed();
ALTER DATABASE "Postgres" RENAME TO hx_was_postgres;
SELECT dbreset.force_drop_database('hx_was_postgres');
-- a protected database may be copied, listed, locked and unlocked
SELECT count(*) >= 0 AS listed FROM dbreset.sessions('template1');
SELECT kind, object, blocks FROM dbreset.drop_blockers('template1')
WHERE blocks ORDER BY 1, 2;
SELECT dbreset.clone_database('template1', 'hx_t1_clone');
SELECT dbreset.snapshot_database('template0', 'hx_t0_snap');
SELECT dbreset.lock_database('template0');
SELECT dbreset.unlock_database('template0');
\echo :SQLSTATE
SELECT dbreset.lock_database('template1');
SELECT datname, datallowconn FROM pg_database WHERE datname = 'template1';
SELECT dbreset.unlock_database('template1');
SELECT datname, datallowconn FROM pg_database WHERE datname = 'template1';
-- a copy onto a protected name, onto any existing name, onto itself
SELECT dbreset.clone_database('hx_a', 'postgres');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'template1');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'hx_t');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', 'hx_t');
\echo :SQLSTATE
SELECT dbreset.snapshot_database('hx_a', 'hx_a');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_a', 'hx_a');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_a');
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', 'hx_no_such_template');
\echo :SQLSTATE
SELECT dbreset.clone_database('hx_no_such_source', 'hx_c');
\echo :SQLSTATE
-- the current database is neither dropped, reset, nor a reset's template
SELECT dbreset.force_drop_database(current_database());
\echo :SQLSTATE
SELECT dbreset.reset_database('hx_a', current_database());
\echo :SQLSTATE
SELECT * FROM dbs_changed();
ALTER DATABASE hx_t0_snap IS_TEMPLATE false;
SELECT * FROM dbreset.force_drop_databases('hx\_t_\_%');
SELECT * FROM dbs_changed();

--
-- multibyte names, in a UTF8 database: cut at 63 bytes on a character's
-- boundary, by the name type as by the parser
--
CREATE DATABASE hx_utf8 TEMPLATE template0 ENCODING 'UTF8'
    LC_COLLATE 'C' LC_CTYPE 'C';
SELECT * FROM dbs_changed();
\c hx_utf8
SET client_min_messages = warning;
CREATE EXTENSION dbreset;
RESET client_min_messages;
SET statement_timeout = '60s';
-- 'hx_' and 30 two-byte characters: 63 bytes; 'hx_z' and 31: 66, cut to 62
SELECT 'hx_' || repeat(U&'\00E9', 30) AS e63,
       'hx_z' || repeat(U&'\00E9', 31) AS z66,
       'hx_y' || repeat(U&'\00E9', 31) AS y66
\gset
SELECT octet_length(:'e63'::name) AS e63, octet_length(:'z66'::name) AS z66,
       :'z66'::name = 'hx_z' || repeat(U&'\00E9', 29) AS cut_before_a_character;
SELECT format('CREATE DATABASE %I', :'e63') \gexec
SELECT format('CREATE DATABASE %I', :'z66') \gexec
SELECT datname, octet_length(datname) FROM pg_database
WHERE datname LIKE 'hx\_%' AND datname <> 'hx_utf8' ORDER BY 1;
SELECT count(*) FILTER (WHERE blocks) AS blocking FROM dbreset.drop_blockers(:'z66');
SELECT count(*) FROM dbreset.terminate_sessions(:'z66', grace => '1s');
SELECT dbreset.lock_database(:'z66');
SELECT dbreset.unlock_database(:'z66');
SELECT dbreset.clone_database(:'e63', :'y66');
SELECT dbreset.snapshot_database(:'z66', :'e63' || ' snap');
\echo :SQLSTATE
SELECT dbreset.reset_database(:'z66', :'e63');
SELECT datname, octet_length(datname) FROM pg_database
WHERE datname LIKE 'hx\_%' AND datname <> 'hx_utf8' ORDER BY 1;
SELECT dbreset.force_drop_database(:'z66');
SELECT * FROM dbreset.force_drop_databases('hx\_y%', true);
SELECT * FROM dbreset.force_drop_databases('hx\_y%');
SELECT dbreset.force_drop_database(:'e63');
SELECT datname, octet_length(datname) FROM pg_database
WHERE datname LIKE 'hx\_%' AND datname <> 'hx_utf8' ORDER BY 1;
\c contrib_regression
SET statement_timeout = '60s';
SELECT * FROM dbs_changed();
-- psql's session on hx_utf8 may not have exited yet
SELECT dbreset.force_drop_database('hx_utf8') IN (0, 1) AS dropped;
SELECT dbreset.force_drop_database('hx_a');
SELECT dbreset.force_drop_database('hx_t');
ALTER DATABASE hx_s IS_TEMPLATE false;
SELECT dbreset.force_drop_database('hx_s');
SELECT * FROM dbs_changed();
