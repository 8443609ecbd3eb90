--
-- Maintenance mode (lock_database, unlock_database), the grace argument and
-- rollback_prepared: the SQL surface and every single-session refusal, each
-- followed by a look at what it left.  Sessions being drained, superusers
-- kept out and grace with real transactions are in t/013_lock.pl.
--
CREATE ROLE dbr_lk_owner LOGIN;
CREATE ROLE dbr_lk_other LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.lock_database(name, interval, interval),
    dbreset.unlock_database(name),
    dbreset.force_drop_database(name, boolean, interval, interval, boolean),
    dbreset.terminate_sessions(name, interval, interval)
    TO dbr_lk_owner, dbr_lk_other;
CREATE DATABASE dbr_lk1 OWNER dbr_lk_owner;

CREATE VIEW lk_state AS
SELECT datname, datallowconn FROM pg_database
WHERE datname LIKE 'dbr\_lk%' ORDER BY datname;
GRANT SELECT ON lk_state TO PUBLIC;

-- arguments
SELECT dbreset.lock_database(NULL);
SELECT dbreset.lock_database('');
SELECT dbreset.lock_database('dbr_lk_none');
SELECT dbreset.lock_database('dbr_lk1', grace => NULL);
SELECT dbreset.lock_database('dbr_lk1', grace => '-1s');
SELECT dbreset.lock_database('dbr_lk1', timeout => '0');
SELECT dbreset.unlock_database(NULL);
SELECT dbreset.unlock_database('dbr_lk_none');
SELECT dbreset.force_drop_database('dbr_lk1', grace => '-1 ms');
SELECT dbreset.force_drop_database('dbr_lk1', rollback_prepared => NULL);
SELECT dbreset.terminate_sessions('dbr_lk1', grace => NULL);
SELECT * FROM lk_state;

-- refusals, each before anything changed
SELECT dbreset.lock_database(current_database());
BEGIN;
SELECT dbreset.lock_database('dbr_lk1');
ROLLBACK;
BEGIN;
SELECT dbreset.unlock_database('dbr_lk1');
ROLLBACK;
SET ROLE dbr_lk_other;
SELECT dbreset.lock_database('dbr_lk1');
SELECT dbreset.unlock_database('dbr_lk1');
-- holding connections off during a grace is the owner's; without one,
-- terminate_sessions() is pg_terminate_backend()
SELECT count(*) FROM dbreset.terminate_sessions('dbr_lk1', grace => '1s');
SELECT count(*) FROM dbreset.terminate_sessions('dbr_lk1');
RESET ROLE;
SET default_transaction_read_only = on;
SELECT dbreset.lock_database('dbr_lk1');
RESET default_transaction_read_only;
SELECT * FROM lk_state;

-- lock, as the owner; again (nothing changes); unlock; again
SET ROLE dbr_lk_owner;
SELECT dbreset.lock_database('dbr_lk1');
SELECT * FROM lk_state;
SELECT dbreset.lock_database('dbr_lk1', grace => '1s');
SELECT dbreset.unlock_database('dbr_lk1');
SELECT * FROM lk_state;
SELECT dbreset.unlock_database('dbr_lk1');
RESET ROLE;

-- a database closed by hand is not dbreset's to open
ALTER DATABASE dbr_lk1 ALLOW_CONNECTIONS false;
SELECT dbreset.unlock_database('dbr_lk1');
SELECT dbreset.lock_database('dbr_lk1');
SELECT dbreset.unlock_database('dbr_lk1');
SELECT dbreset.unlock_database('template0');
ALTER DATABASE dbr_lk1 ALLOW_CONNECTIONS true;
SELECT * FROM lk_state;

-- a lock counts only while the row version it wrote stands: opened and
-- closed again by hand, the database is closed by hand, not locked
SELECT dbreset.lock_database('dbr_lk1');
ALTER DATABASE dbr_lk1 ALLOW_CONNECTIONS true;
ALTER DATABASE dbr_lk1 ALLOW_CONNECTIONS false;
SELECT kind, object, detail FROM dbreset.drop_blockers('dbr_lk1')
WHERE kind IN ('locked', 'closed');
SELECT dbreset.unlock_database('dbr_lk1');
SELECT * FROM lk_state;
ALTER DATABASE dbr_lk1 ALLOW_CONNECTIONS true;

-- a locked database stays locked through a reset, and unlocks after it
CREATE DATABASE dbr_lk_tpl IS_TEMPLATE true;
SELECT dbreset.lock_database('dbr_lk1');
SELECT dbreset.reset_database('dbr_lk1', 'dbr_lk_tpl');
SELECT * FROM lk_state;
SELECT dbreset.unlock_database('dbr_lk1');
SELECT * FROM lk_state;

-- a locked database can be dropped
SELECT dbreset.lock_database('dbr_lk1');
SELECT dbreset.force_drop_database('dbr_lk1');
SELECT * FROM lk_state;

-- rollback_prepared: a prepared transaction blocks a drop, unless it is
-- rolled back first -- by its owner or a superuser only (the bootstrap
-- superuser is named after the OS user that runs the tests: not shown)
CREATE DATABASE dbr_lk2 OWNER dbr_lk_owner;
\c dbr_lk2
CREATE TABLE px (v int);
GRANT ALL ON px TO dbr_lk_owner;
BEGIN;
INSERT INTO px VALUES (1);
PREPARE TRANSACTION 'dbr_lk_px1';
SET ROLE dbr_lk_owner;
BEGIN;
INSERT INTO px VALUES (2);
PREPARE TRANSACTION 'dbr_lk_px2';
RESET ROLE;
\c contrib_regression
SELECT gid, CASE owner WHEN current_user THEN '(the superuser)' ELSE owner END AS owner
FROM pg_prepared_xacts WHERE database = 'dbr_lk2' ORDER BY gid;
SELECT dbreset.force_drop_database('dbr_lk2');
SET ROLE dbr_lk_owner;
SELECT dbreset.force_drop_database('dbr_lk2', rollback_prepared => true);
RESET ROLE;
SELECT gid, CASE owner WHEN current_user THEN '(the superuser)' ELSE owner END AS owner
FROM pg_prepared_xacts WHERE database = 'dbr_lk2' ORDER BY gid;
SELECT * FROM lk_state;
SELECT dbreset.force_drop_database('dbr_lk2', rollback_prepared => true);
SELECT gid FROM pg_prepared_xacts WHERE database = 'dbr_lk2';
SELECT * FROM lk_state;

DROP VIEW lk_state;
ALTER DATABASE dbr_lk_tpl IS_TEMPLATE false;
DROP DATABASE dbr_lk_tpl;
REVOKE ALL ON FUNCTION dbreset.lock_database(name, interval, interval),
    dbreset.unlock_database(name),
    dbreset.force_drop_database(name, boolean, interval, interval, boolean),
    dbreset.terminate_sessions(name, interval, interval)
    FROM dbr_lk_owner, dbr_lk_other;
DROP ROLE dbr_lk_owner, dbr_lk_other;
