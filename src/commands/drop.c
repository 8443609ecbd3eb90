/*-------------------------------------------------------------------------
 *
 * drop.c
 *	  dbreset.force_drop_database(): hold new connections off, end the
 *	  sessions, drop -- the DROP in a background worker's own transaction.
 *	  And the rollback of a database's prepared transactions first, by a
 *	  helper in the worker's lock group.
 *
 * The steps of a drop, and why in this order: src/README.md.
 *
 * IDENTIFICATION
 *	  src/commands/drop.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "base/dbstate.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/ending.h"
#include "core/job.h"
#include "core/refusals.h"
#include "core/spare.h"

PG_FUNCTION_INFO_V1(dbreset_force_drop_database);

/* Arguments of the drop job, copied into the worker's segment */
typedef struct DbresetDropArgs
{
	NameData	dbname;
	Oid			dbid;			/* locked by the worker */
	bool		use_force;
	bool		rollback_prepared;	/* ROLLBACK PREPARED first */
} DbresetDropArgs;


static char *roll_back_prepared(const char *dbname, Oid dbid);

/*
 * drop_job_run
 *		The drop job, run in the worker's transaction once the caller has
 *		checked the database and seen its sessions leave, with the database
 *		locked by the worker since before that (dbreset_job_take_lock), so
 *		that new sessions wait until the DROP has committed.  With
 *		rollback_prepared, the database's prepared transactions are rolled
 *		back first, and the result is their gids; otherwise it is empty:
 *		the caller knows what it terminated.
 */
static void
drop_job_run(const void *argp, StringInfo result)
{
	const DbresetDropArgs *args = (const DbresetDropArgs *) argp;

	if (args->rollback_prepared)
	{
		char	   *gids = roll_back_prepared(NameStr(args->dbname),
											  args->dbid);

		if (gids != NULL)
			appendStringInfoString(result, gids);
	}
	dbreset_job_point_of_no_return();
	dbreset_test_point("drop:before_drop");
	dbreset_run_drop_database(NameStr(args->dbname), args->use_force);
	dbreset_test_point("drop:dropped");
}

DBRESET_JOB(dbreset_drop_job, "dbreset: drop database", drop_job_run);

/*
 * Arguments of the rollback job, copied into the worker's segment: the
 * worker is connected to the database itself, as ROLLBACK PREPARED must be.
 */
typedef struct DbresetRollbackArgs
{
	Oid			dbid;
} DbresetRollbackArgs;

/*
 * rollback_prepared_job_run
 *		In a worker connected to the database whose prepared transactions
 *		are to go: ROLLBACK PREPARED each, in a transaction of its own, as
 *		the caller.  Core checks the permission again (the owner of the
 *		prepared transaction, or a superuser).  The result is the list of
 *		gids rolled back, for the caller's log line.
 */
static void
rollback_prepared_job_run(const void *argp, StringInfo result)
{
	const DbresetRollbackArgs *args = (const DbresetRollbackArgs *) argp;
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext,
											  "dbreset rollback",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext oldcontext = MemoryContextSwitchTo(cxt);
	List	   *gids = dbreset_list_prepared(args->dbid, InvalidOid);
	ListCell   *lc;
	char	   *list;
	MemoryContext xactcontext;
	ResourceOwner oldowner;

	MemoryContextSwitchTo(oldcontext);
	foreach(lc, gids)
	{
		dbreset_run_utility(psprintf("ROLLBACK PREPARED %s",
									 quote_literal_cstr((const char *) lfirst(lc))));
		dbreset_job_next_transaction();
	}
	/*
	 * The worker is connected to the database, in its encoding.  The
	 * rollbacks have committed: a gid the caller's encoding cannot show
	 * must not turn them into an error.  The conversion's error is caught
	 * in a subtransaction of the job's last one, rolled back.
	 */
	list = dbreset_gid_list(gids);
	xactcontext = CurrentMemoryContext;
	oldowner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		appendStringInfoString(result,
							   pg_server_to_any(list, strlen(list),
												dbreset_job_caller_encoding()));
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(xactcontext);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		resetStringInfo(result);
		appendStringInfo(result, ngettext("%d, not shown in this encoding",
										  "%d, not shown in this encoding",
										  list_length(gids)),
						 list_length(gids));
	}
	PG_END_TRY();
	MemoryContextSwitchTo(xactcontext);
	CurrentResourceOwner = oldowner;
	MemoryContextDelete(cxt);
}

DBRESET_JOB(dbreset_rollback_prepared_job, "dbreset: rollback prepared transactions", rollback_prepared_job_run);

/*
 * roll_back_prepared
 *		ROLLBACK PREPARED every prepared transaction of database dbid, in a
 *		helper worker connected to it, and wait until that helper has left
 *		the database again.  Called by the drop job in its worker, which
 *		holds the database locked -- the helper joins the worker's lock
 *		group to get in -- once the sessions are gone, so no new prepared
 *		transaction can appear before the DROP.  Returns the gids rolled
 *		back, or NULL if there were none.
 */
static char *
roll_back_prepared(const char *dbname, Oid dbid)
{
	DbresetRollbackArgs args;
	DbresetJobHandle *job;
	StringInfoData result;
	uint64		ngids;

	(void) dbreset_prepared_transactions(dbid, &ngids);
	if (ngids == 0)
		return NULL;

	memset(&args, 0, sizeof(args));
	args.dbid = dbid;
	initStringInfo(&result);
	job = dbreset_job_start_in(dbid, &dbreset_rollback_prepared_job,
							   &args, sizeof(args),
							   psprintf("the rollback of the prepared transactions of database \"%s\"",
										dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbreset_job_release(job);
		dbreset_job_finish(job, &result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	return result.data;
}

/*
 * drop_locked
 *		The rest of force_drop_database() once the caller holds database
 *		dbid locked: hand the lock over to a worker, check, terminate, drop.
 *		Returns the OID of the database dropped -- another than dbid if a
 *		reset queued behind the caller got the lock first and gave it a new
 *		one -- or InvalidOid if no database of that name was left once the
 *		worker held the lock; *nterminated says how many sessions were
 *		terminated.
 */
static Oid
drop_locked(const char *dbname, Oid dbid, DbresetDropArgs *args,
			DbresetEnding *options, int *nterminated)
{
	DbresetJobHandle *job;
	StringInfoData result;

	initStringInfo(&result);
	job = dbreset_job_start(&dbreset_drop_job, args, sizeof(*args),
							psprintf("the drop of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		/* the worker takes the lock over before anything is checked */
		dbid = dbreset_job_hand_over_lock(job, dbname, dbid,
										  AccessExclusiveLock,
										  options->timeout_ms);
		if (OidIsValid(dbid))
		{
			dbreset_check_droppable(dbname, dbid, options->rollback_prepared);
			dbreset_test_point("drop:checked");
			args->dbid = dbid;
			args->rollback_prepared = options->rollback_prepared;
			dbreset_job_update_args(job, args, sizeof(*args));
			*nterminated = dbreset_end_sessions_and_run(dbname, dbid, job,
													 options, &result);
			if (result.len > 0)
				options->rolled_back = result.data;
		}
		else
			dbreset_job_abandon(job);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	return dbid;
}

/*
 * dbreset.force_drop_database(dbname name, if_exists boolean DEFAULT false,
 *							   timeout interval DEFAULT '5s',
 *							   grace interval DEFAULT '0',
 *							   rollback_prepared boolean DEFAULT false)
 *		RETURNS integer
 *
 *		Drop dbname even though sessions are connected to it, terminating
 *		them; returns how many were terminated.  With a grace, sessions
 *		inside a transaction get that long to finish it first; with
 *		rollback_prepared, the database's prepared transactions are rolled
 *		back first instead of refusing the drop.  1.0's declaration, without
 *		the last two arguments, is served too.  Not transactional -- the
 *		drop commits on its own in a background worker -- so it refuses to
 *		run inside a transaction block, as DROP DATABASE does.  Needs what
 *		DROP DATABASE needs (ownership) and what pg_terminate_backend()
 *		needs for every session.  REVOKEd from PUBLIC.
 *
 *		A LOG line records who dropped what and whom that terminated.
 */
Datum
dbreset_force_drop_database(PG_FUNCTION_ARGS)
{
	DbresetDropArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	bool		if_exists = dbreset_get_bool_arg(fcinfo, 1, "if_exists", false);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);
	int			grace_ms = dbreset_get_grace_arg(fcinfo, 3);
	bool		rollback_prepared = dbreset_get_bool_arg(fcinfo, 4,
														 "rollback_prepared",
														 false);
	Oid			dbid;
	int			nterminated = 0;
	DbresetEnding options;
	StringInfoData detail;

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.use_force = dbreset_use_force_option;

	dbreset_prevent_in_transaction_block("dbreset.force_drop_database()");
	PreventCommandIfReadOnly("DROP DATABASE");
	PreventCommandDuringRecovery("DROP DATABASE");
	dbreset_check_not_protected(dbname, dbreset_protected_databases);

	memset(&options, 0, sizeof(options));
	options.timeout_ms = timeout_ms;
	options.grace_ms = grace_ms;
	options.for_drop = true;
	options.rollback_prepared = rollback_prepared;
	options.undone = _("The database was not dropped.");

	dbid = dbreset_acquire_database_lock(dbname, AccessExclusiveLock,
										 timeout_ms);
	if (OidIsValid(dbid))
	{
		dbreset_test_point("drop:locked");
		dbid = drop_locked(dbname, dbid, &args, &options, &nterminated);
	}
	if (!OidIsValid(dbid))
	{
		if (!if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("database \"%s\" does not exist", dbname)));
		ereport(NOTICE,
				(errmsg("database \"%s\" does not exist, skipping", dbname)));
		PG_RETURN_INT32(0);
	}

	/* dropped and committed: a lock record of it is stale, its spares too */
	dbreset_forget_maintenance_record(dbid);
	dbreset_drop_spares_of(dbid);

	initStringInfo(&detail);
	dbreset_append_drain_detail(&detail, &options);
	ereport(LOG,
			(errmsg_plural("role \"%s\" dropped database \"%s\" after terminating %d session",
						   "role \"%s\" dropped database \"%s\" after terminating %d sessions",
						   nterminated,
						   GetUserNameFromId(GetUserId(), false), dbname,
						   nterminated),
			 detail.len > 0 ? errdetail_internal("%s", detail.data) : 0));

	PG_RETURN_INT32(nterminated);
}
