/*-------------------------------------------------------------------------
 *
 * drop.c
 *	  dbreset.force_drop_database(): block new connections, terminate the
 *	  sessions, drop -- the drop in a background worker's own transaction.
 *
 * The caller, in its own transaction:
 *
 *	1. takes the database object's lock in AccessExclusiveLock mode, as
 *	   dropdb() does first.  New connections, superusers and background
 *	   workers included, wait for it in InitPostgres before they enter the
 *	   ProcArray, and fail once the drop commits: the old recipe's REVOKE
 *	   CONNECT step, without a race and with nothing to undo on failure;
 *	2. starts the background worker and hands the lock over to it
 *	   (dbreset_job_take_lock): the worker, which is not in the caller's
 *	   lock group, asks for the same lock and the caller lets its own go;
 *	3. once the worker holds the lock, makes every check DROP DATABASE
 *	   would make (owner, template, open database, replication slots,
 *	   subscriptions, prepared transactions) and checks that it may
 *	   terminate every session, so that a refusal comes before any session
 *	   is touched;
 *	4. signals the sessions and waits until they have left the ProcArray;
 *	5. releases the worker, which runs DROP DATABASE through
 *	   ProcessUtility as a top-level statement in its transaction, WITH
 *	   (FORCE) on 13+ unless dbreset.use_force_option is off -- after a
 *	   ROLLBACK PREPARED of the database's prepared transactions, if asked,
 *	   by a helper in the worker's lock group.
 *
 * The worker holds the lock from step 2 until it has committed, so no
 * session can arrive between the checks and the DROP -- not even when the
 * caller is interrupted while the DROP goes on in the background.  A
 * connection that queued for the lock behind the caller's may get in
 * during the hand-off; that is why nothing is checked before it.  The
 * caller takes the lock first, rather than leave it all to the worker, so
 * that a call waiting for it is seen waiting in pg_locks and
 * pg_blocking_pids(), as DROP DATABASE would be; the checks, the signals
 * and the wait run with the caller's own identity.
 *
 * IDENTIFICATION
 *	  src/drop.c
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
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_force_drop_database);

/* Arguments of the drop job, copied into the worker's segment */
typedef struct DbresetDropArgs
{
	NameData	dbname;
	Oid			dbid;			/* locked by the worker */
	bool		use_force;
	bool		rollback_prepared;	/* ROLLBACK PREPARED first */
} DbresetDropArgs;


/*
 * list_prepared
 *		The gids of the prepared transactions of database dbid, in gid
 *		order, as a List of strings allocated in the caller's memory
 *		context; with other_than valid, only those of other roles.  Read
 *		through pg_prepared_xact(), the function behind pg_prepared_xacts.
 */
static List *
list_prepared(Oid dbid, Oid other_than)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[2] = {OIDOID, OIDOID};
	Datum		argvalues[2];
	List	   *gids = NIL;
	uint64		i;

	if (max_prepared_xacts == 0)
		return NIL;

	argvalues[0] = ObjectIdGetDatum(dbid);
	argvalues[1] = ObjectIdGetDatum(other_than);
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT gid FROM pg_catalog.pg_prepared_xact() "
							  "WHERE dbid = $1 AND ($2 = 0 OR ownerid <> $2) "
							  "ORDER BY gid",
							  2, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list prepared transactions");

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *gid = SPI_getvalue(SPI_tuptable->vals[i],
									   SPI_tuptable->tupdesc, 1);
		MemoryContext oldcontext = MemoryContextSwitchTo(outer);

		gids = lappend(gids, pstrdup(gid));
		MemoryContextSwitchTo(oldcontext);
	}

	SPI_finish();
	PopActiveSnapshot();
	return gids;
}

/*
 * gid_list
 *		Gids as a list for messages: "a", "b".
 */
static char *
gid_list(List *gids)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, gids)
		appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? ", " : "",
						 (const char *) lfirst(lc));
	return buf.data;
}

/*
 * dbreset_prepared_transactions
 *		The gids of the prepared transactions of database dbid, as a list
 *		for messages ("\"a\", \"b\""); *ngids counts them.
 */
char *
dbreset_prepared_transactions(Oid dbid, uint64 *ngids)
{
	List	   *gids = list_prepared(dbid, InvalidOid);

	*ngids = list_length(gids);
	return gid_list(gids);
}

/*
 * check_prepared_transactions
 *		Refuse a database with prepared transactions, naming their gids.
 *		Core refuses them too, but only after WITH (FORCE) would have been
 *		the next step; we refuse before any session is terminated -- and
 *		again once they have gone: a session given a grace may have
 *		prepared a transaction meanwhile.  "late", for that second look,
 *		says what was not done ("The database was not dropped.").
 */
static void
check_prepared_transactions(const char *dbname, Oid dbid, const char *late)
{
	uint64		ngids;
	char	   *gids = dbreset_prepared_transactions(dbid, &ngids);

	if (ngids > 0 && late == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" is being used by prepared transactions",
						dbname),
				 errdetail_plural("Prepared transaction %s uses the database. No session was terminated.",
								  "Prepared transactions %s use the database. No session was terminated.",
								  (unsigned long) ngids, gids),
				 errhint("Commit or roll them back with COMMIT PREPARED or ROLLBACK PREPARED.")));
	if (ngids > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" is being used by prepared transactions",
						dbname),
				 errdetail_plural("Prepared transaction %s was prepared while the sessions were ending. The sessions were terminated. %s",
								  "Prepared transactions %s were prepared while the sessions were ending. The sessions were terminated. %s",
								  (unsigned long) ngids, gids, late),
				 errhint("Commit or roll them back with COMMIT PREPARED or ROLLBACK PREPARED.")));
}

/*
 * dbreset_check_droppable
 *		Every refusal dropdb() would raise, in dropdb()'s order and with its
 *		messages, made while we hold the database lock and before any
 *		session is terminated.  Prepared transactions are no refusal when
 *		they are to be rolled back first (dbreset_terminate_and_run).
 */
void
dbreset_check_droppable(const char *dbname, Oid dbid, bool rollback_prepared)
{
	HeapTuple	tup;
	bool		istemplate;
	int			nslots;
	int			nslots_active;
	int			nsubscriptions;

	/* a reset looks before anything is locked: it may be gone by now */
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	istemplate = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
	ReleaseSysCache(tup);

	if (!dbreset_database_ownercheck(dbid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, dbname);

	if (istemplate)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot drop a template database")));

	if (dbid == MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot drop the currently open database")));

	(void) ReplicationSlotsCountDBSlots(dbid, &nslots, &nslots_active);
	if (nslots_active > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" is used by an active logical replication slot",
						dbname),
				 errdetail_plural("There is %d active slot.",
								  "There are %d active slots.",
								  nslots_active, nslots_active)));

	if ((nsubscriptions = CountDBSubscriptions(dbid)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" is being used by logical replication subscription",
						dbname),
				 errdetail_plural("There is %d subscription.",
								  "There are %d subscriptions.",
								  nsubscriptions, nsubscriptions)));

	if (!rollback_prepared)
		check_prepared_transactions(dbname, dbid, NULL);
}

/*
 * dbreset_run_drop_database
 *		DROP DATABASE as a top-level statement through ProcessUtility, so
 *		that audit hooks and pg_stat_activity see the statement itself.
 *		Worker side only.
 */
void
dbreset_run_drop_database(const char *dbname, bool use_force)
{
	PlannedStmt *pstmt = makeNode(PlannedStmt);
	char	   *sql;

	pstmt->utilityStmt = (Node *) dbreset_make_dropdb_stmt(dbname, &use_force);
	sql = psprintf("DROP DATABASE %s%s", quote_identifier(dbname),
				   use_force ? " WITH (FORCE)" : "");

	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->stmt_location = 0;
	pstmt->stmt_len = (int) strlen(sql);

	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	dbreset_process_utility(pstmt, sql);
	debug_query_string = NULL;
}

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
	dbreset_run_drop_database(NameStr(args->dbname), args->use_force);
}

const DbresetJob dbreset_drop_job = {
	.name = "dbreset: drop database",
	.run = drop_job_run,
};

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
	List	   *gids = list_prepared(args->dbid, InvalidOid);
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
	list = gid_list(gids);
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

const DbresetJob dbreset_rollback_prepared_job = {
	.name = "dbreset: rollback prepared transactions",
	.run = rollback_prepared_job_run,
};

/*
 * check_may_roll_back
 *		What rolling back the prepared transactions of database dbname
 *		(dbid) needs, checked before any session is terminated -- and again
 *		once they have gone ("late"), since one may have prepared a
 *		transaction meanwhile.  ROLLBACK PREPARED's own check (LockGXact in
 *		twophase.c): each was prepared by the current user, or it is a
 *		superuser.  And, since core finishes a prepared transaction only
 *		from its own database, the worker must be able to connect to it as
 *		the caller's authenticated user: CONNECT, as CheckMyDatabase()
 *		checks even for a background worker.
 */
static void
check_may_roll_back(const char *dbname, Oid dbid, bool late)
{
	Oid			authuser = GetAuthenticatedUserId();
	const char *outcome = late ?
		_("The sessions were terminated, but the database was not dropped.") :
		_("No session was terminated.");
	List	   *others;

	if (list_prepared(dbid, InvalidOid) == NIL)
		return;

	if (!superuser_arg(authuser) &&
		dbreset_database_aclcheck(dbid, authuser, ACL_CONNECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for database %s", dbname),
				 errdetail("Rolling back its prepared transactions needs to connect to it as user \"%s\". %s",
						   GetUserNameFromId(authuser, false), outcome)));

	if (superuser())
		return;
	others = list_prepared(dbid, GetUserId());
	if (others != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to finish prepared transaction \"%s\"",
						(const char *) linitial(others)),
				 errdetail_internal("%s", outcome),
				 errhint("Must be superuser or the user that prepared the transaction.")));
}

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
	job = dbreset_job_start_in(dbid, DBRESET_JOB_ROLLBACK_PREPARED,
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
 * dbreset_append_drain_detail
 *		The detail of a log line about terminated sessions: who they were,
 *		how many finished their work within the grace, which prepared
 *		transactions were rolled back.
 */
void
dbreset_append_drain_detail(StringInfo buf, int nsessions,
							const DbresetTerminateOptions *options)
{
	if (nsessions > 0)
		appendStringInfo(buf, "Terminated: %s.", options->described);
	if (options->grace_ms > 0 && nsessions > 0)
		appendStringInfo(buf, " %d of %d finished their transaction within the grace of %d ms.",
						 options->nfinished, nsessions, options->grace_ms);
	if (options->rolled_back != NULL)
		appendStringInfo(buf, "%sRolled back prepared transactions: %s.",
						 buf->len > 0 ? " " : "", options->rolled_back);
}

/*
 * dbreset_end_sessions
 *		Steps 3 and 4 on the caller's side, once the worker of the job (or,
 *		for a spare's swap, the caller itself) holds database dbid locked in
 *		AccessExclusiveLock mode and the caller has checked it: check and
 *		signal its sessions (giving their transactions options->grace_ms to
 *		finish) and wait for them to leave; for a drop, look again for
 *		prepared transactions, which a session in its grace may have made.
 *		Returns the number of sessions terminated; options says for the log
 *		line who they were and how many finished within the grace.
 */
int
dbreset_end_sessions(const char *dbname, Oid dbid,
					 DbresetTerminateOptions *options)
{
	DbresetSession *sessions;
	int			nsessions;
	int		   *remaining;
	int			nremaining;
	StringInfoData buf;

	/*
	 * dbreset's idle workers on it are no sessions: they leave first (and
	 * one claimed before that is a session like any other).  For a drop,
	 * autovacuum workers are stopped as DROP DATABASE does.
	 */
	dbreset_pool_evict(dbid, options->timeout_ms);
	sessions = dbreset_collect_sessions(dbid, &nsessions);
	dbreset_check_terminate_all(sessions, nsessions, options->for_drop);
	if (options->rollback_prepared)
		check_may_roll_back(dbname, dbid, false);

	/* names are read now: the sessions' status entries vanish as they exit */
	initStringInfo(&buf);
	dbreset_describe_sessions(&buf, sessions, nsessions);
	options->described = buf.data;
	options->rolled_back = NULL;

	options->nfinished = dbreset_drain_sessions(sessions, nsessions,
												options->grace_ms);
	nremaining = dbreset_wait_for_exit(dbid, sessions, nsessions,
									   options->timeout_ms, &remaining);
	if (nremaining > 0)
		dbreset_report_timeout(dbname, remaining, nremaining,
							   options->timeout_ms, options->undone);

	/* what a session may have prepared meanwhile, before any rollback */
	if (options->for_drop && options->rollback_prepared)
		check_may_roll_back(dbname, dbid, true);
	else if (options->for_drop)
		check_prepared_transactions(dbname, dbid, options->undone);

	return nsessions;
}

/*
 * dbreset_terminate_and_run
 *		dbreset_end_sessions(), then let the worker of job run it (a drop, a
 *		reset, a lock) -- for a drop with rollback_prepared, the database's
 *		prepared transactions are rolled back first, in the worker.  Returns
 *		the number of sessions terminated; the job's result is appended to
 *		result.  The caller runs this inside its
 *		PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel).
 */
int
dbreset_terminate_and_run(const char *dbname, Oid dbid,
						  DbresetJobHandle *job,
						  DbresetTerminateOptions *options,
						  StringInfo result)
{
	int			nsessions = dbreset_end_sessions(dbname, dbid, options);

	dbreset_job_release(job);
	dbreset_job_finish(job, result);
	return nsessions;
}

/*
 * drop_locked
 *		The rest of force_drop_database() once the caller holds database
 *		dbid locked: hand the lock over to a worker, check, terminate, drop.
 *		Returns dbid, or InvalidOid if the database was dropped or renamed
 *		while the worker waited for the lock; *nterminated says how many
 *		sessions were terminated.
 */
static Oid
drop_locked(const char *dbname, Oid dbid, DbresetDropArgs *args,
			DbresetTerminateOptions *options, int *nterminated)
{
	DbresetJobHandle *job;
	StringInfoData result;

	initStringInfo(&result);
	job = dbreset_job_start(DBRESET_JOB_DROP, args, sizeof(*args),
							psprintf("the drop of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		/* the worker takes the lock over before anything is checked */
		dbid = dbreset_job_take_lock(job, dbname, dbid, AccessExclusiveLock,
									 options->timeout_ms, true);
		if (OidIsValid(dbid))
		{
			dbreset_check_droppable(dbname, dbid, options->rollback_prepared);
			args->dbid = dbid;
			args->rollback_prepared = options->rollback_prepared;
			dbreset_job_update_args(job, args, sizeof(*args));
			*nterminated = dbreset_terminate_and_run(dbname, dbid, job,
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
	bool		if_exists = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);
	int			grace_ms = dbreset_get_grace_arg(fcinfo, 3);
	bool		rollback_prepared = dbreset_get_bool_arg(fcinfo, 4,
														 "rollback_prepared",
														 false);
	Oid			dbid;
	int			nterminated = 0;
	DbresetTerminateOptions options;
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
		dbid = drop_locked(dbname, dbid, &args, &options, &nterminated);
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

	/* dropped and committed: a lock record of it is stale */
	dbreset_forget_lock(dbid);

	initStringInfo(&detail);
	dbreset_append_drain_detail(&detail, nterminated, &options);
	ereport(LOG,
			(errmsg_plural("role \"%s\" dropped database \"%s\" after terminating %d session",
						   "role \"%s\" dropped database \"%s\" after terminating %d sessions",
						   nterminated,
						   GetUserNameFromId(GetUserId(), false), dbname,
						   nterminated),
			 detail.len > 0 ? errdetail_internal("%s", detail.data) : 0));

	PG_RETURN_INT32(nterminated);
}
