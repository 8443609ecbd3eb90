--
-- The "dbreset." settings prefix is reserved: PostgreSQL 15 and later
-- refuse a misspelt setting (expected/04_reserved_prefix.out); 12 to 14
-- only warn when the library is loaded, so the SET succeeds there
-- (expected/04_reserved_prefix_1.out).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dbreset;
RESET client_min_messages;
SELECT dbreset.force_drop_database('dbreset_no_such_db', if_exists => true);
SET dbreset.no_such_setting = on;
