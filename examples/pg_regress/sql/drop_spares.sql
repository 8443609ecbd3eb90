--
-- At the end: the spare kept for the next run is not needed.  (A temporary
-- instance is thrown away anyway; against a shared server, do this.)
--
SELECT dbreset.drop_spares('myapp_test') >= 0 AS dropped;
