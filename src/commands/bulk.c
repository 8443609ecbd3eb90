/*-------------------------------------------------------------------------
 *
 * bulk.c
 *	  dbreset.force_drop_databases(): drop every database whose name
 *	  matches a pattern, in one background worker, each database in a
 *	  transaction of its own, an error kept as that database's row.
 *
 * The listing, the dry run and the protection rules run in the caller; the
 * worker locks, checks and ends the sessions of each database as
 * force_drop_database() does (core/ending.c, core/refusals.c).
 *
 * IDENTIFICATION
 *	  src/commands/bulk.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "base/dbstate.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/backends.h"
#include "core/ending.h"
#include "core/job.h"
#include "core/refusals.h"
#include "core/spare.h"

PG_FUNCTION_INFO_V1(dbreset_force_drop_databases);

/* One database of the batch, as the caller listed it */
typedef struct DropManyEntry
{
	NameData	dbname;
	Oid			dbid;
} DropManyEntry;

/*
 * Arguments of the drop-many job, copied into the worker's segment: a
 * fixed header, the entries, then the caller's dbreset.protected_databases
 * as a NUL-terminated string (the worker's own would be the server's).
 */
typedef struct DropManyArgs
{
	int32		ndatabases;
	int32		timeout_ms;		/* for each lock, and for each database's
								 * sessions to exit */
	bool		use_force;		/* DROP DATABASE ... WITH (FORCE) */
	DropManyEntry entries[FLEXIBLE_ARRAY_MEMBER];
} DropManyArgs;

#define DROP_MANY_ARGS_SIZE(n) \
	(offsetof(DropManyArgs, entries) + sizeof(DropManyEntry) * (n))

/* the caller's dbreset.protected_databases, after the entries */
#define DROP_MANY_PROTECTED(args) \
	((const char *) (args) + DROP_MANY_ARGS_SIZE((args)->ndatabases))

/*
 * What the worker found for one database, in its result: "terminated" is
 * -1 for NULL, "error" NULL when the database was dropped.
 */
typedef struct DropManyRow
{
	int32		terminated;
	char	   *error;
} DropManyRow;

/* Columns of force_drop_databases() */
enum
{
	COL_DATNAME,
	COL_TERMINATED,
	COL_ERROR,
	NUM_DROP_MANY_COLS
};

extern PGDLLEXPORT const DbresetJob dbreset_drop_many_job;

/*
 * drop_one_database
 *		Worker side: the drop of one listed database, in the current
 *		transaction, which it commits once the DROP is done.  The sessions
 *		are ended as for force_drop_database() (dbreset_end_sessions):
 *		*ending counts them from just before they are signalled, so that an
 *		error after that still reports them, and names them for the log
 *		line.
 */
static void
drop_one_database(const DropManyArgs *args, const DropManyEntry *entry,
				  DbresetEnding *ending)
{
	const char *dbname = NameStr(entry->dbname);
	Oid			dbid;

	dbid = dbreset_acquire_database_lock(dbname, AccessExclusiveLock,
										 args->timeout_ms);
	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	if (dbid != entry->dbid)
	{
		/* not the database listed: leave it alone, lock included */
		UnlockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" was replaced since it was listed",
						dbname),
				 errdetail("It had OID %u when listed and has OID %u now. It was not dropped.",
						   entry->dbid, dbid)));
	}

	/* as the caller's listing, and as force_drop_database() checks */
	dbreset_check_not_protected(dbname, DROP_MANY_PROTECTED(args));
	dbreset_check_droppable(dbname, dbid, false);

	ending->timeout_ms = args->timeout_ms;
	ending->for_drop = true;
	ending->undone = _("The database was not dropped.");
	(void) dbreset_end_sessions(dbname, dbid, ending);
	/* what it says of them outlives the commit, as *ending does */
	ending->described = MemoryContextStrdup(GetMemoryChunkContext(ending),
											ending->described);

	dbreset_job_point_of_no_return();
	dbreset_run_drop_database(dbname, args->use_force);
	dbreset_job_next_transaction();
	dbreset_job_leave_point_of_no_return();
	pgstat_report_activity(STATE_RUNNING, dbreset_drop_many_job.name);

	/* dropped and committed: its lock record and spares go too */
	dbreset_forget_maintenance_record(dbid);
	dbreset_drop_spares_of(dbid);
}

/*
 * drop_many_job_run
 *		The worker's part: every listed database in turn, each in its own
 *		transaction (drop_one_database), an error caught and kept as that
 *		database's row.  Logs a line per database, as force_drop_database()
 *		does, with this worker's pid: the server log shows that one process
 *		served the whole batch.  The result is one row per database, in
 *		listing order: int32 terminated (-1 for NULL), a byte saying whether
 *		an error follows, then the error message, NUL-terminated.
 *
 *		The rows live in a context under TopMemoryContext: every commit and
 *		every abort frees the transaction's memory.
 */
static void
drop_many_job_run(const void *argp, StringInfo result)
{
	const DropManyArgs *args = (const DropManyArgs *) argp;
	MemoryContext batchcxt = AllocSetContextCreate(TopMemoryContext,
												   "dbreset drop databases",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext itemcxt = AllocSetContextCreate(batchcxt,
												  "dbreset drop database",
												  ALLOCSET_SMALL_SIZES);
	DropManyRow *rows;
	int			i;

	rows = MemoryContextAllocZero(batchcxt,
								  sizeof(DropManyRow) * Max(args->ndatabases, 1));

	for (i = 0; i < args->ndatabases; i++)
	{
		const DropManyEntry *entry = &args->entries[i];
		const char *dbname = NameStr(entry->dbname);
		volatile bool failed = false;
		DbresetEnding *ending;

		/* the one before has committed, or failed */
		if (i > 0)
			dbreset_test_point("bulk:between");
		MemoryContextReset(itemcxt);
		ending = MemoryContextAllocZero(itemcxt, sizeof(DbresetEnding));
		ending->nsessions = -1;

		PG_TRY();
		{
			drop_one_database(args, entry, ending);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/* out of ErrorContext, into memory that outlives the abort */
			MemoryContextSwitchTo(itemcxt);
			edata = CopyErrorData();
			FlushErrorState();
			debug_query_string = NULL;

			/* abort; exits quietly if the error is the caller's cancel */
			dbreset_job_recover();
			pgstat_report_activity(STATE_RUNNING, dbreset_drop_many_job.name);

			rows[i].terminated = ending->nsessions;
			rows[i].error = MemoryContextStrdup(batchcxt, edata->message);

			ereport(LOG_SERVER_ONLY,
					(errmsg("role \"%s\" could not drop database \"%s\": %s",
							GetUserNameFromId(GetUserId(), false), dbname,
							edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
			failed = true;
		}
		PG_END_TRY();

		/* (no "continue" inside PG_CATCH: it is a do-while loop) */
		if (failed)
			continue;

		rows[i].terminated = ending->nsessions;
		rows[i].error = NULL;

		/*
		 * The server log only: a worker's LOG sent to its caller would be
		 * logged a second time there.
		 */
		ereport(LOG_SERVER_ONLY,
				(errmsg_plural("role \"%s\" dropped database \"%s\" after terminating %d session",
							   "role \"%s\" dropped database \"%s\" after terminating %d sessions",
							   ending->nsessions,
							   GetUserNameFromId(GetUserId(), false), dbname,
							   ending->nsessions),
				 ending->nsessions > 0 ?
				 errdetail_internal("Terminated: %s.", ending->described) : 0));
	}

	for (i = 0; i < args->ndatabases; i++)
	{
		pq_sendint32(result, rows[i].terminated);
		pq_sendbyte(result, rows[i].error != NULL);
		if (rows[i].error != NULL)
			appendBinaryStringInfo(result, rows[i].error,
								   strlen(rows[i].error) + 1);
	}

	MemoryContextDelete(batchcxt);
}

DBRESET_JOB(dbreset_drop_many_job, "dbreset: drop databases", drop_many_job_run);

/*
 * entry_name_cmp
 *		qsort comparator of entries, by name in byte order -- the order of
 *		ORDER BY datname, "name" sorting in the "C" collation.
 */
static int
entry_name_cmp(const void *a, const void *b)
{
	return strcmp(NameStr(((const DropManyEntry *) a)->dbname),
				  NameStr(((const DropManyEntry *) b)->dbname));
}

/*
 * list_databases
 *		The databases a batch would drop: name LIKE pattern (in the "C"
 *		collation, as datname LIKE pattern), not a template, not the
 *		current database, not protected by the caller's setting; ordered
 *		by name.  Read from pg_database as the catalog snapshot sees it;
 *		nothing is locked.  Returns the entries, palloc'd; *n counts them.
 */
static DropManyEntry *
list_databases(const char *pattern, int *n)
{
	Datum		pattern_datum = CStringGetTextDatum(pattern);
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	DropManyEntry *entries;
	int			allocated = 16;
	int			k = 0;

	entries = palloc(sizeof(DropManyEntry) * allocated);
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datistemplate || db->oid == MyDatabaseId)
			continue;
		if (!DatumGetBool(DirectFunctionCall2Coll(namelike, C_COLLATION_OID,
												  NameGetDatum(&db->datname),
												  pattern_datum)))
			continue;
		if (dbreset_is_protected(NameStr(db->datname),
								 dbreset_protected_databases))
			continue;

		if (k == allocated)
		{
			allocated *= 2;
			entries = repalloc(entries, sizeof(DropManyEntry) * allocated);
		}
		namestrcpy(&entries[k].dbname, NameStr(db->datname));
		entries[k].dbid = db->oid;
		k++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	qsort(entries, k, sizeof(DropManyEntry), entry_name_cmp);
	*n = k;
	return entries;
}

/*
 * put_row
 *		One row of the result.
 */
static void
put_row(ReturnSetInfo *rsinfo, const DropManyEntry *entry, int terminated,
		const char *error)
{
	Datum		values[NUM_DROP_MANY_COLS];
	bool		nulls[NUM_DROP_MANY_COLS];

	memset(nulls, 0, sizeof(nulls));
	values[COL_DATNAME] = NameGetDatum(&entry->dbname);
	if (terminated >= 0)
		values[COL_TERMINATED] = Int32GetDatum(terminated);
	else
		nulls[COL_TERMINATED] = true;
	if (error != NULL)
		values[COL_ERROR] = CStringGetTextDatum(error);
	else
		nulls[COL_ERROR] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * dry_run
 *		One row per listed database, changing nothing: how many sessions a
 *		drop would terminate now, counted as the drop counts them, and what
 *		would stop it (dbreset_blockers_summary, NULL if nothing would).
 */
static void
dry_run(ReturnSetInfo *rsinfo, const DropManyEntry *entries, int n)
{
	MemoryContext rowcontext = AllocSetContextCreate(CurrentMemoryContext,
													 "dbreset row",
													 ALLOCSET_SMALL_SIZES);
	int			i;

	for (i = 0; i < n; i++)
	{
		MemoryContext oldcontext = MemoryContextSwitchTo(rowcontext);
		int			nsessions;
		int			nblocking;
		char	   *blockers;

		(void) dbreset_collect_sessions(entries[i].dbid, &nsessions);
		blockers = dbreset_blockers_summary(NameStr(entries[i].dbname),
											entries[i].dbid, &nblocking);
		put_row(rsinfo, &entries[i], nsessions, blockers);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rowcontext);
	}
	MemoryContextDelete(rowcontext);
}

/*
 * run_batch
 *		Hand the n listed databases to one background worker and wait for
 *		its rows (drop_many_job_run), which it appends to result.  The
 *		caller's cancel stops the worker between two databases, or once the
 *		DROP it is running has committed.
 */
static void
run_batch(const char *pattern, const DropManyEntry *entries, int n,
		  int timeout_ms, StringInfo result)
{
	Size		entries_len = DROP_MANY_ARGS_SIZE(n);
	Size		args_len = entries_len + strlen(dbreset_protected_databases) + 1;
	DropManyArgs *args = palloc0(args_len);
	DbresetJobHandle *job;

	args->ndatabases = n;
	args->timeout_ms = timeout_ms;
	args->use_force = dbreset_use_force_option;
	memcpy(args->entries, entries, sizeof(DropManyEntry) * n);
	strcpy((char *) args + entries_len, dbreset_protected_databases);

	initStringInfo(result);
	job = dbreset_job_start(&dbreset_drop_many_job, args, args_len,
							psprintf("the drop of the databases matching \"%s\"",
									 pattern));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbreset_job_release(job);
		dbreset_job_finish(job, result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
}

/*
 * dbreset.force_drop_databases(pattern text, dry_run boolean DEFAULT false,
 *								timeout interval DEFAULT '5s')
 *		RETURNS TABLE (datname name, terminated integer, error text)
 *
 *		Force-drop every database whose name matches the LIKE pattern,
 *		except templates, databases in dbreset.protected_databases and the
 *		current one, each in a transaction of its own, in name order; one
 *		row per database.  A database that could not be dropped has its
 *		error message in its row, and the others are dropped all the same.
 *		"terminated" is the number of sessions terminated, or signalled if
 *		the drop then failed; NULL if it failed before any was.  The timeout
 *		applies to each database, to its lock and to its sessions' exit.
 *
 *		With dry_run, nothing changes: the rows say how many sessions each
 *		drop would terminate and what would stop it; allowed in a
 *		transaction block.  Otherwise, like force_drop_database(), it
 *		refuses to run inside a transaction block, and needs what DROP
 *		DATABASE needs for each database.  REVOKEd from PUBLIC.
 */
Datum
dbreset_force_drop_databases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *pattern;
	bool		is_dry_run;
	int			timeout_ms;
	DropManyEntry *entries;
	int			n;
	StringInfoData result;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pattern must not be null")));
	pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	is_dry_run = dbreset_get_bool_arg(fcinfo, 1, "dry_run", false);
	timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);

	if (!is_dry_run)
	{
		dbreset_prevent_in_transaction_block("dbreset.force_drop_databases()");
		PreventCommandIfReadOnly("DROP DATABASE");
		PreventCommandDuringRecovery("DROP DATABASE");
	}

	dbreset_init_materialized_srf(fcinfo);
	entries = list_databases(pattern, &n);

	if (is_dry_run)
	{
		dry_run(rsinfo, entries, n);
		return (Datum) 0;
	}
	if (n == 0)
		return (Datum) 0;

	run_batch(pattern, entries, n, timeout_ms, &result);

	/* the worker's rows, in listing order */
	for (i = 0; i < n; i++)
	{
		int			terminated = (int) pq_getmsgint(&result, 4);
		const char *error = NULL;

		if (pq_getmsgbyte(&result) != 0)
			error = pq_getmsgrawstring(&result);
		put_row(rsinfo, &entries[i], terminated, error);
	}
	if (result.cursor != result.len)
		elog(ERROR, "unexpected result of dbreset background worker");

	return (Datum) 0;
}
