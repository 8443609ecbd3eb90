--
-- The "dbreset." settings prefix is reserved when the library loads: a
-- misspelt setting made before is reported then, and from PostgreSQL 15 it
-- is removed and later ones are refused (expected/04_reserved_prefix.out);
-- 12 to 14 only warn when the library loads (04_reserved_prefix_1.out).
-- With dbreset in shared_preload_libraries (scripts/test's standing-worker
-- pass before 17), the prefix is reserved from the start: 15+ refuses the
-- first SET (04_reserved_prefix_2.out), 13 takes it silently
-- (04_reserved_prefix_3.out).  A library that reserved nothing would match
-- none of these files.
--
-- a fresh backend: the library is not loaded yet
SET dbreset.no_such_setting = on;
LOAD 'dbreset';
SHOW dbreset.no_such_setting;
SET dbreset.no_such_setting_2 = on;
-- the real settings are there (dbreset.test_stop_at: test builds only)
SELECT name FROM pg_settings
WHERE name LIKE 'dbreset.%' AND name <> 'dbreset.test_stop_at' ORDER BY 1;
