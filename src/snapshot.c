/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *	  dbreset.snapshot_database(): a sealed copy of a database, to reset
 *	  from later -- the "snapshot" of Stellar and DSLR, whose "restore" is
 *	  dbreset.reset_database(dbname, snapshot).
 *
 * A snapshot is a clone (clone.c) marked IS_TEMPLATE true and ALLOW_CONNECTIONS
 * false, so that nobody changes it by connecting and anyone with CREATEDB may
 * copy it, with a comment saying what it is a snapshot of and when it was
 * taken.  Being sealed also lets a reset keep a spare copy of it ready.
 *
 * IDENTIFICATION
 *	  src/snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_snapshot_database);

/*
 * dbreset.snapshot_database(dbname name, snapshot name,
 *							 terminate_sessions boolean DEFAULT false,
 *							 timeout interval DEFAULT '5s')
 *		RETURNS void
 *
 *		Make snapshot a sealed copy of dbname, with dbname's sessions waited
 *		for up to timeout, or terminated.  Needs what CREATE DATABASE
 *		snapshot TEMPLATE dbname needs.  REVOKEd from PUBLIC.
 */
Datum
dbreset_snapshot_database(PG_FUNCTION_ARGS)
{
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	char	   *snapshot = dbreset_get_dbname_arg(fcinfo, 1);
	bool		terminate = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 3);

	dbreset_copy_database("dbreset.snapshot_database()", dbname, snapshot,
						  terminate, timeout_ms, true);
	PG_RETURN_VOID();
}
