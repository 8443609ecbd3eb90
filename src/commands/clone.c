/*-------------------------------------------------------------------------
 *
 * clone.c
 *	  dbreset.clone_database() and dbreset.snapshot_database(): CREATE
 *	  DATABASE target TEMPLATE source in one call, even though sessions are
 *	  connected to the source; a snapshot is a sealed copy.
 *
 * The worker locks the source as CREATE DATABASE does; the caller checks
 * it and waits for, or ends, its sessions (core/copy.c).
 *
 * IDENTIFICATION
 *	  src/commands/clone.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/builtins.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "core/copy.h"
#include "core/job.h"

PG_FUNCTION_INFO_V1(dbreset_clone_database);
PG_FUNCTION_INFO_V1(dbreset_snapshot_database);

/*
 * copy_database
 *		Make target a copy of source -- sealed (a template nobody may
 *		connect to, with a comment saying what and when) for a snapshot --
 *		holding new connections to the source off while it is copied and
 *		waiting for, or terminating, the sessions already on it.  Needs what
 *		CREATE DATABASE target TEMPLATE source needs, and what
 *		pg_terminate_backend() needs for every session it terminates.
 *		"what" names the SQL function for messages.
 */
static void
copy_database(const char *what, const char *srcname,
					  const char *target, bool terminate, int timeout_ms,
					  bool seal)
{
	DbresetCopyArgs args;
	Oid			srcid;
	DbresetJobHandle *job;
	StringInfoData how;

	dbreset_prevent_in_transaction_block(what);
	PreventCommandIfReadOnly("CREATE DATABASE");
	PreventCommandDuringRecovery("CREATE DATABASE");

	/* a reset of target between its DROP and its CREATE is waited for */
	if (OidIsValid(dbreset_get_database_oid(target, timeout_ms)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("database \"%s\" already exists", target)));

	srcid = dbreset_find_source(srcname, timeout_ms);

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, target);
	namestrcpy(&args.source, srcname);
	args.source_id = srcid;
	args.seal = seal;
	dbreset_copy_settings(&args);

	/*
	 * The worker takes the source's lock itself, and the source is checked
	 * once it holds it.
	 */
	initStringInfo(&how);
	job = dbreset_job_start(&dbreset_copy_job, &args, sizeof(args),
							psprintf("the copy of database \"%s\" to \"%s\"",
									 srcname, target));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		srcid = dbreset_job_lock_source(job, srcname, srcid, timeout_ms);
		dbreset_check_locked_source(srcname, srcid);
		args.source_id = srcid;
		dbreset_job_update_args(job, &args, sizeof(args));

		dbreset_wait_for_source(srcname, srcid, timeout_ms, terminate,
								"Pass terminate_sessions => true to terminate them.");
		dbreset_job_release(job);
		dbreset_job_finish(job, &how);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	ereport(LOG,
			(errmsg(seal ?
					"role \"%s\" took snapshot \"%s\" of database \"%s\"" :
					"role \"%s\" cloned database \"%s\" from database \"%s\"",
					GetUserNameFromId(GetUserId(), false), target, srcname),
			 errdetail_internal("%s", how.data)));
}

/*
 * dbreset.clone_database(source name, target name,
 *						  terminate_sessions boolean DEFAULT false,
 *						  timeout interval DEFAULT '5s')
 *		RETURNS void
 *
 *		CREATE DATABASE target TEMPLATE source, with the source's sessions
 *		waited for up to timeout, or terminated.  REVOKEd from PUBLIC.
 */
Datum
dbreset_clone_database(PG_FUNCTION_ARGS)
{
	char	   *source = dbreset_get_name_arg(fcinfo, 0, "source database name");
	char	   *target = dbreset_get_name_arg(fcinfo, 1, "target database name");
	bool		terminate = dbreset_get_bool_arg(fcinfo, 2, "terminate_sessions",
												 false);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 3);

	copy_database("dbreset.clone_database()", source, target,
						  terminate, timeout_ms, false);
	PG_RETURN_VOID();
}

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
	char	   *snapshot = dbreset_get_name_arg(fcinfo, 1, "snapshot name");
	bool		terminate = dbreset_get_bool_arg(fcinfo, 2, "terminate_sessions",
												 false);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 3);

	copy_database("dbreset.snapshot_database()", dbname, snapshot,
						  terminate, timeout_ms, true);
	PG_RETURN_VOID();
}
