/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *	  Maintenance mode: dbreset.lock_database() and unlock_database() close
 *	  a database to every connection and open it again; what the close
 *	  leaves behind, the maintenance record, is kept by base/dbstate.c.
 *
 * IDENTIFICATION
 *	  src/commands/maintenance.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "base/dbstate.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/ending.h"
#include "core/job.h"

PG_FUNCTION_INFO_V1(dbreset_lock_database);
PG_FUNCTION_INFO_V1(dbreset_unlock_database);

/* Arguments of the lock job, copied into the worker's segment */
typedef struct DbresetMaintenanceArgs
{
	NameData	dbname;
	Oid			dbid;			/* AccessExclusiveLock: handed to the worker */
	bool		unlock;
} DbresetMaintenanceArgs;

/* What the lock job found, for the caller (its result) */
#define LOCK_RESULT_LOCKED		'l'	/* closed it now */
#define LOCK_RESULT_ALREADY		'a'	/* dbreset had closed it before */
#define LOCK_RESULT_CLOSED		'c' /* closed by someone else: left so */
#define LOCK_RESULT_UNLOCKED	'u'


/*
 * set_allow_connections
 *		ALTER DATABASE ... ALLOW_CONNECTIONS, as a top-level statement run
 *		as the caller: core makes its own checks and fires its own hooks.
 */
static void
set_allow_connections(const char *dbname, bool allow)
{
	dbreset_run_utility(psprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %s",
								 quote_identifier(dbname),
								 allow ? "true" : "false"));
}

/*
 * maintenance_job_run
 *		The worker's part of both functions.  Locking, with the database's
 *		lock taken over from the caller (dbreset_job_take_lock): record and
 *		commit ALLOW_CONNECTIONS false -- unless it is already false, in
 *		which case nothing changes.  Unlocking: commit ALLOW_CONNECTIONS
 *		true, then remove the record.  The result is one LOCK_RESULT_ byte.
 */
static void
maintenance_job_run(const void *argp, StringInfo result)
{
	const DbresetMaintenanceArgs *args = (const DbresetMaintenanceArgs *) argp;
	const char *dbname = NameStr(args->dbname);
	DbresetDatabaseState state;

	if (get_database_oid(dbname, true) != args->dbid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	state = dbreset_database_state(args->dbid);

	if (args->unlock)
	{
		if (state == DBRESET_DB_MAINTENANCE)
		{
			set_allow_connections(dbname, true);
			dbreset_job_next_transaction();
			dbreset_forget_maintenance_record(args->dbid);
		}
		appendStringInfoChar(result, LOCK_RESULT_UNLOCKED);
		return;
	}

	if (state == DBRESET_DB_OPEN)
	{
		set_allow_connections(dbname, false);
		/* names the row version the ALTER wrote; before our commit */
		dbreset_write_maintenance_record(args->dbid, dbname);
		dbreset_test_point("maintenance:closed");
		appendStringInfoChar(result, LOCK_RESULT_LOCKED);
	}
	else if (state == DBRESET_DB_MAINTENANCE)
		appendStringInfoChar(result, LOCK_RESULT_ALREADY);
	else
	{
		dbreset_forget_stale_maintenance_record(args->dbid);
		appendStringInfoChar(result, LOCK_RESULT_CLOSED);
	}
}

DBRESET_JOB(dbreset_maintenance_job, "dbreset: lock database", maintenance_job_run);

/*
 * check_alterable
 *		What ALTER DATABASE ... ALLOW_CONNECTIONS checks, in its order and
 *		with its messages, made before any session is touched: not an
 *		invalid database; the database's owner (or a member of its role, as
 *		core has it per major); and, to close it, not the database we are
 *		connected to.
 */
static void
check_alterable(const char *dbname, Oid dbid, bool closing)
{
	/* core raises FATAL here; ending the caller's session would not help */
	if (dbreset_database_state(dbid) == DBRESET_DB_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot alter invalid database \"%s\"", dbname),
				 errhint("Use DROP DATABASE to drop invalid databases.")));

	if (!dbreset_database_ownercheck(dbid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, dbname);

	if (closing && dbid == MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot disallow connections for current database")));
}

/*
 * dbreset.lock_database(dbname name, grace interval DEFAULT '0',
 *						 timeout interval DEFAULT '5s')
 *		RETURNS integer
 *
 *		Put dbname in maintenance mode: ALLOW_CONNECTIONS false, committed,
 *		and no session left; returns how many were terminated.  Calling it
 *		again terminates whatever got in meanwhile (a background worker
 *		that bypasses ALLOW_CONNECTIONS) and changes nothing else.  A
 *		database closed otherwise keeps its sessions' end but is not marked
 *		as locked by dbreset, with a NOTICE.  Needs what ALTER DATABASE
 *		needs and what pg_terminate_backend() needs for every session.
 *		REVOKEd from PUBLIC.
 */
Datum
dbreset_lock_database(PG_FUNCTION_ARGS)
{
	DbresetMaintenanceArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	int			grace_ms = dbreset_get_grace_arg(fcinfo, 1);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);
	DbresetEnding options;
	StringInfoData result;
	StringInfoData detail;
	DbresetJobHandle *job;
	Oid			dbid;
	int			nterminated;

	dbreset_prevent_in_transaction_block("dbreset.lock_database()");
	PreventCommandIfReadOnly("ALTER DATABASE");
	PreventCommandDuringRecovery("ALTER DATABASE");

	dbid = dbreset_lock_existing_database(dbname, AccessExclusiveLock,
										  timeout_ms);
	dbreset_test_point("maintenance:locked");

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.unlock = false;
	memset(&options, 0, sizeof(options));
	options.timeout_ms = timeout_ms;
	options.grace_ms = grace_ms;
	options.for_drop = false;
	options.undone = _("The database was not locked.");
	initStringInfo(&result);

	/* the worker takes the lock over before anything is checked */
	job = dbreset_job_start(&dbreset_maintenance_job, &args, sizeof(args),
							psprintf("the lock of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbid = dbreset_job_lock_existing_database(job, dbname, dbid,
												  AccessExclusiveLock,
												  timeout_ms);
		check_alterable(dbname, dbid, true);
		args.dbid = dbid;
		dbreset_job_update_args(job, &args, sizeof(args));
		nterminated = dbreset_end_sessions_and_run(dbname, dbid, job, &options,
												&result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	if (result.len > 0 && result.data[0] == LOCK_RESULT_CLOSED)
		ereport(NOTICE,
				(errmsg("database \"%s\" was already closed to connections; it is not marked as locked by dbreset",
						dbname),
				 errdetail("dbreset.unlock_database() will not open it.")));

	initStringInfo(&detail);
	dbreset_append_drain_detail(&detail, &options);
	ereport(LOG,
			(errmsg_plural("role \"%s\" locked database \"%s\" after terminating %d session",
						   "role \"%s\" locked database \"%s\" after terminating %d sessions",
						   nterminated,
						   GetUserNameFromId(GetUserId(), false), dbname,
						   nterminated),
			 detail.len > 0 ? errdetail_internal("%s", detail.data) : 0));

	PG_RETURN_INT32(nterminated);
}

/*
 * dbreset.unlock_database(dbname name) RETURNS void
 *
 *		Allow connections again to a database that lock_database() closed.
 *		An open database is left as it is; one closed otherwise (template0,
 *		a snapshot, ALTER DATABASE by hand) is an error, so that an unlock
 *		never opens what dbreset did not close.  Needs what ALTER DATABASE
 *		needs.  REVOKEd from PUBLIC.
 */
Datum
dbreset_unlock_database(PG_FUNCTION_ARGS)
{
	DbresetMaintenanceArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	DbresetJobHandle *job;
	StringInfoData result;
	DbresetDatabaseState state;
	Oid			dbid;

	dbreset_prevent_in_transaction_block("dbreset.unlock_database()");
	PreventCommandIfReadOnly("ALTER DATABASE");
	PreventCommandDuringRecovery("ALTER DATABASE");

	dbid = dbreset_get_existing_database_oid(dbname, DBRESET_DEFAULT_TIMEOUT_MS);
	check_alterable(dbname, dbid, false);

	state = dbreset_database_state(dbid);
	if (state == DBRESET_DB_OPEN)
		PG_RETURN_VOID();
	if (state == DBRESET_DB_CLOSED)
	{
		dbreset_forget_stale_maintenance_record(dbid);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("database \"%s\" was not locked by dbreset.lock_database()",
						dbname),
				 errdetail("It does not allow connections, but dbreset did not close it."),
				 errhint("To allow connections anyway, use ALTER DATABASE %s ALLOW_CONNECTIONS true.",
						 quote_identifier(dbname))));
	}

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.dbid = dbid;
	args.unlock = true;

	initStringInfo(&result);
	job = dbreset_job_start(&dbreset_maintenance_job, &args, sizeof(args),
							psprintf("the unlock of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbreset_job_release(job);
		dbreset_job_finish(job, &result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	ereport(LOG,
			(errmsg("role \"%s\" unlocked database \"%s\"",
					GetUserNameFromId(GetUserId(), false), dbname)));
	PG_RETURN_VOID();
}
