/*-------------------------------------------------------------------------
 *
 * drop.c
 *	  dbreset.force_drop_database(): block new connections, terminate the
 *	  sessions, drop -- in one background worker transaction.
 *
 * The caller checks its arguments and hands the job to the worker core
 * (worker.c).  In the worker, the job:
 *
 *	1. takes the database object's lock in AccessExclusiveLock mode, as
 *	   dropdb() does first.  New connections, superusers and background
 *	   workers included, wait for it in InitPostgres before they enter the
 *	   ProcArray, and fail once the drop commits: the old recipe's REVOKE
 *	   CONNECT step, without a race and with nothing to undo on failure;
 *	2. makes every check DROP DATABASE would make (owner, template, open
 *	   database, replication slots, subscriptions, prepared transactions),
 *	   so that a refusal comes before any session is touched;
 *	3. checks that the caller may terminate every session, signals them
 *	   all and waits until they have left the ProcArray;
 *	4. runs DROP DATABASE through ProcessUtility as a top-level statement,
 *	   WITH (FORCE) on 13+ unless dbreset.use_force_option is off.
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
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "replication/slot.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_force_drop_database);

/* Arguments of the drop job, copied into the worker's segment */
typedef struct DbresetDropArgs
{
	NameData	dbname;
	bool		if_exists;
	bool		use_force;
	int			timeout_ms;
} DbresetDropArgs;

/* Worker side: what the job did, for the log line after the commit */
static char *drop_terminated = NULL;
static int	drop_nterminated = 0;
static char *drop_rolename = NULL;

/*
 * lock_database
 *		Look the database up by name and lock it in AccessExclusiveLock
 *		mode, retrying if it was renamed or dropped while we waited, as
 *		dropdb() does.  Returns InvalidOid if there is no such database.
 *
 *		The wait is bounded by lock_timeout, set from the caller's timeout;
 *		its expiry is reported in terms of what was asked for.
 */
static Oid
lock_database(const char *dbname, int timeout_ms)
{
	MemoryContext oldcontext = CurrentMemoryContext;

	for (;;)
	{
		Oid			dbid = get_database_oid(dbname, true);

		if (!OidIsValid(dbid))
			return InvalidOid;

		PG_TRY();
		{
			LockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcontext);
			edata = CopyErrorData();
			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
				PG_RE_THROW();
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not lock database \"%s\" within %d ms",
							dbname, timeout_ms),
					 errdetail("Another transaction holds a lock on the database. No session was terminated.")));
		}
		PG_END_TRY();

		/* LockSharedObject has accepted invalidations: look again */
		if (get_database_oid(dbname, true) == dbid)
			return dbid;

		UnlockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);
	}
}

/*
 * check_prepared_transactions
 *		Refuse a database with prepared transactions, naming their gids.
 *		Core refuses them too, but only after WITH (FORCE) would have been
 *		the next step; we refuse before any session is terminated.  Only
 *		asked when prepared transactions are enabled at all.
 */
static void
check_prepared_transactions(const char *dbname, Oid dbid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		argvalues[1];
	StringInfoData gids;
	uint64		i;

	if (max_prepared_xacts == 0)
		return;

	argvalues[0] = ObjectIdGetDatum(dbid);
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT gid FROM pg_catalog.pg_prepared_xact() "
							  "WHERE dbid = $1 ORDER BY gid",
							  1, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list prepared transactions");

	initStringInfo(&gids);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *gid = SPI_getvalue(SPI_tuptable->vals[i],
									   SPI_tuptable->tupdesc, 1);

		appendStringInfo(&gids, "%s\"%s\"", i > 0 ? ", " : "", gid);
	}

	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" is being used by prepared transactions",
						dbname),
				 errdetail_plural("Prepared transaction %s uses the database. No session was terminated.",
								  "Prepared transactions %s use the database. No session was terminated.",
								  (unsigned long) SPI_processed, gids.data),
				 errhint("Commit or roll them back with COMMIT PREPARED or ROLLBACK PREPARED.")));

	SPI_finish();
	PopActiveSnapshot();
}

/*
 * check_droppable
 *		Every refusal dropdb() would raise, in dropdb()'s order and with its
 *		messages, made while we hold the database lock and before any
 *		session is terminated.
 */
static void
check_droppable(const char *dbname, Oid dbid)
{
	HeapTuple	tup;
	bool		istemplate;
	int			nslots;
	int			nslots_active;
	int			nsubscriptions;

	if (!dbreset_database_ownercheck(dbid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, dbname);

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", dbid);
	istemplate = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
	ReleaseSysCache(tup);

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

	check_prepared_transactions(dbname, dbid);
}

/*
 * run_drop_database
 *		DROP DATABASE as a top-level statement through ProcessUtility, so
 *		that audit hooks and pg_stat_activity see the statement itself.
 */
static void
run_drop_database(const char *dbname, bool use_force)
{
	DropdbStmt *stmt = makeNode(DropdbStmt);
	PlannedStmt *pstmt = makeNode(PlannedStmt);
	char	   *sql;

	stmt->dbname = pstrdup(dbname);
	stmt->missing_ok = false;
#ifdef DBRESET_HAVE_DROP_FORCE
	if (use_force)
		stmt->options = list_make1(makeDefElem("force", NULL, -1));
#else
	use_force = false;
#endif
	sql = psprintf("DROP DATABASE %s%s", quote_identifier(dbname),
				   use_force ? " WITH (FORCE)" : "");

	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->utilityStmt = (Node *) stmt;
	pstmt->stmt_location = 0;
	pstmt->stmt_len = (int) strlen(sql);

	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	dbreset_process_utility(pstmt, sql);
	debug_query_string = NULL;
}

/*
 * drop_job_run
 *		The drop job, run in the worker's transaction.  The result is the
 *		number of sessions terminated, as an int32.
 */
static void
drop_job_run(const void *argp, StringInfo result)
{
	const DbresetDropArgs *args = (const DbresetDropArgs *) argp;
	const char *dbname = NameStr(args->dbname);
	char	   *lockwait;
	Oid			dbid;
	DbresetSession *sessions;
	int			nsessions;
	int		   *remaining;
	int			nremaining;

	/* bound the wait for the database lock by the caller's timeout */
	lockwait = psprintf("%d", args->timeout_ms);
	SetConfigOption("lock_timeout", lockwait, PGC_USERSET, PGC_S_SESSION);

	dbid = lock_database(dbname, args->timeout_ms);
	if (!OidIsValid(dbid))
	{
		if (!args->if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("database \"%s\" does not exist", dbname)));
		ereport(NOTICE,
				(errmsg("database \"%s\" does not exist, skipping", dbname)));
		pq_sendint32(result, 0);
		drop_nterminated = -1;
		return;
	}

	check_droppable(dbname, dbid);

	sessions = dbreset_collect_sessions(dbid, &nsessions);
	dbreset_check_terminate_all(sessions, nsessions);
	dbreset_signal_sessions(sessions, nsessions);
	nremaining = dbreset_wait_for_exit(dbid, sessions, nsessions,
									   args->timeout_ms, &remaining);
	if (nremaining > 0)
		dbreset_report_timeout(dbname, remaining, nremaining,
							   args->timeout_ms,
							   "The database was not dropped.");

	if (nsessions > 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		dbreset_describe_sessions(&buf, sessions, nsessions);
		drop_terminated = MemoryContextStrdup(TopMemoryContext, buf.data);
	}
	drop_nterminated = nsessions;
	drop_rolename = MemoryContextStrdup(TopMemoryContext,
										GetUserNameFromId(GetUserId(), false));

	dbreset_job_point_of_no_return();
	run_drop_database(dbname, args->use_force);

	pq_sendint32(result, nsessions);
}

/*
 * drop_job_after_commit
 *		Record who dropped what, and whom that terminated, once the drop
 *		has committed.  Outside the transaction no catalog can be read, so
 *		the names were collected beforehand.
 */
static void
drop_job_after_commit(const void *argp)
{
	const DbresetDropArgs *args = (const DbresetDropArgs *) argp;

	if (drop_nterminated < 0)
		return;					/* IF EXISTS and nothing to drop */

	ereport(LOG,
			(errmsg_plural("role \"%s\" dropped database \"%s\" after terminating %d session",
						   "role \"%s\" dropped database \"%s\" after terminating %d sessions",
						   drop_nterminated, drop_rolename,
						   NameStr(args->dbname), drop_nterminated),
			 drop_nterminated > 0 ?
			 errdetail_internal("Terminated: %s.", drop_terminated) : 0));
}

const DbresetJob dbreset_drop_job = {
	.name = "dbreset: drop database",
	.run = drop_job_run,
	.after_commit = drop_job_after_commit,
};

/*
 * dbreset.force_drop_database(dbname name, if_exists boolean DEFAULT false,
 *							   timeout interval DEFAULT '5s')
 *		RETURNS integer
 *
 *		Drop dbname even though sessions are connected to it, terminating
 *		them; returns how many were terminated.  Not transactional -- the
 *		drop commits on its own in a background worker -- so it refuses to
 *		run inside a transaction block, as DROP DATABASE does.  Needs what
 *		DROP DATABASE needs (ownership) and what pg_terminate_backend()
 *		needs for every session.  REVOKEd from PUBLIC.
 */
Datum
dbreset_force_drop_database(PG_FUNCTION_ARGS)
{
	DbresetDropArgs args;
	StringInfoData result;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.if_exists = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	args.timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);
	args.use_force = dbreset_use_force_option;

	dbreset_prevent_in_transaction_block("dbreset.force_drop_database()");
	PreventCommandIfReadOnly("DROP DATABASE");
	PreventCommandDuringRecovery("DROP DATABASE");
	dbreset_check_not_protected(dbname);

	initStringInfo(&result);
	dbreset_run_job(DBRESET_JOB_DROP, &args, sizeof(args), &result);

	PG_RETURN_INT32(pq_getmsgint(&result, 4));
}
