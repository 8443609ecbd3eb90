/*-------------------------------------------------------------------------
 *
 * lock.c
 *	  Maintenance mode: dbreset.lock_database() and unlock_database().
 *
 * Locking a database commits ALLOW_CONNECTIONS false -- it lasts across
 * restarts and keeps superusers out too -- and ends its sessions.  The
 * caller, as for a drop:
 *
 *	1. takes the database's lock in AccessExclusiveLock mode, which holds
 *	   new connections off at once (they wait for it in InitPostgres);
 *	2. checks what ALTER DATABASE would check (ownership, not the current
 *	   database) and that it may terminate every session, by
 *	   pg_terminate_backend()'s rules, before any is signalled;
 *	3. terminates the sessions, with the grace asked for, and waits until
 *	   they are gone, while a background worker starts;
 *	4. lets the worker run ALTER DATABASE ... ALLOW_CONNECTIONS false in a
 *	   transaction of its own, which commits whatever becomes of the
 *	   caller's, then lets go of the lock.  Connections that waited for it
 *	   are refused ("not currently accepting connections").
 *
 * A failure before step 4 leaves the database open.  Unlocking runs ALTER
 * DATABASE ... ALLOW_CONNECTIONS true in a worker too, so that both commit
 * on their own and both refuse transaction blocks.
 *
 * That dbreset closed a database is recorded in the data directory, in
 * pg_dbreset/locked.<OID>: the raw xmin of the pg_database row version
 * that the worker's ALTER wrote (and the name, for whoever looks), fsynced
 * before the commit, removed after the unlock commits.  It counts only
 * while that row version is current and closed -- any other change of the
 * row makes a version with another xmin, and an aborted lock's xmin is on
 * none -- so unlock_database() opens only what lock_database() closed:
 * never template0, a sealed snapshot, or a database an administrator
 * closed (or opened and closed again) by hand.  A reset records its new
 * row version (props.c).  Stale records are ignored, and removed by the
 * next lock or unlock of the database.  The record is not replicated: on
 * a promoted standby a locked database shows as closed, and ALTER
 * DATABASE opens it.
 *
 * IDENTIFICATION
 *	  src/lock.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_lock_database);
PG_FUNCTION_INFO_V1(dbreset_unlock_database);

#define LOCK_RECORD_DIR		"pg_dbreset"
/* a record: "<xmin> <name>\n" */
#define LOCK_RECORD_MAXLEN	(10 + 1 + NAMEDATALEN + 1)

/* Arguments of the lock job, copied into the worker's segment */
typedef struct DbresetLockArgs
{
	NameData	dbname;
	Oid			dbid;			/* AccessExclusiveLock held by the caller */
	bool		unlock;
} DbresetLockArgs;

/* What the lock job found, for the caller (its result) */
#define LOCK_RESULT_LOCKED		'l'	/* closed it now */
#define LOCK_RESULT_ALREADY		'a'	/* dbreset had closed it before */
#define LOCK_RESULT_CLOSED		'c' /* closed by someone else: left so */
#define LOCK_RESULT_UNLOCKED	'u'

/*
 * lock_record_path
 *		pg_dbreset/locked.<dbid>, relative to the data directory.
 */
static char *
lock_record_path(Oid dbid)
{
	return psprintf(LOCK_RECORD_DIR "/locked.%u", dbid);
}

/*
 * read_lock_record
 *		The transaction ID recorded for database dbid, or
 *		InvalidTransactionId if the record is not one (cut short by a
 *		crash, or of another format).  False if there is no record.
 */
static bool
read_lock_record(Oid dbid, TransactionId *xid)
{
	char	   *path = lock_record_path(dbid);
	char		buf[LOCK_RECORD_MAXLEN + 1];
	char	   *end;
	unsigned long value;
	int			fd;
	int			len;

	*xid = InvalidTransactionId;
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	len = read(fd, buf, LOCK_RECORD_MAXLEN);
	CloseTransientFile(fd);
	if (len <= 0 || buf[len - 1] != '\n' || !isdigit((unsigned char) buf[0]))
		return true;
	buf[len] = '\0';
	errno = 0;
	value = strtoul(buf, &end, 10);
	if (errno == 0 && *end == ' ' && value <= PG_UINT32_MAX)
		*xid = (TransactionId) value;
	return true;
}

/*
 * record_names_row
 *		Whether a record of transaction xid stands for row version tup of
 *		pg_database: tup is closed, and xid wrote it.  The raw xmin, which
 *		freezing keeps, as it keeps an in-place update (datfrozenxid); any
 *		other change of the row makes a version with another xmin.
 */
static bool
record_names_row(TransactionId xid, HeapTuple tup)
{
	return TransactionIdIsNormal(xid) &&
		!((Form_pg_database) GETSTRUCT(tup))->datallowconn &&
		TransactionIdEquals(xid, HeapTupleHeaderGetRawXmin(tup->t_data));
}

/*
 * write_lock_record
 *		Record, durably, that the current transaction closed database dbid
 *		(named dbname, for whoever looks): the xmin of the row version it
 *		wrote, written already.  Called before the commit: a transaction
 *		that does not commit leaves a record that no row version ever
 *		matches.
 */
static void
write_lock_record(Oid dbid, const char *dbname)
{
	char	   *path = lock_record_path(dbid);
	HeapTuple	tup;
	TransactionId xmin;
	bool		closed;
	char	   *record;
	int			fd;

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", dbid);
	xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	closed = !((Form_pg_database) GETSTRUCT(tup))->datallowconn;
	ReleaseSysCache(tup);
	if (!closed || !TransactionIdIsCurrentTransactionId(xmin))
		elog(ERROR, "database %u was not closed by the current transaction",
			 dbid);
	record = psprintf("%u %s\n", xmin, dbname);

	/*
	 * The row version's WAL first: a crash before the commit must not let
	 * recovery hand that transaction ID out again, to a transaction that
	 * closes the database by hand -- whose row the record would match.
	 */
	XLogFlush(XactLastRecEnd);

	if (MakePGDirectory(LOCK_RECORD_DIR) == 0)
		fsync_fname(".", true);
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m",
						LOCK_RECORD_DIR)));

	fd = OpenTransientFile(path, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	if (write(fd, record, strlen(record)) != (ssize_t) strlen(record) ||
		pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	CloseTransientFile(fd);
	fsync_fname(LOCK_RECORD_DIR, true);
}

/*
 * dbreset_keep_lock
 *		The current transaction has given database dbid, which
 *		lock_database() had closed, a new row version, still closed (a
 *		reset, props.c): record that one, so that the database stays
 *		locked.
 */
void
dbreset_keep_lock(Oid dbid)
{
	write_lock_record(dbid, get_database_name(dbid));
}

/*
 * dbreset_forget_lock
 *		Remove the record of database dbid, if any: once it is unlocked, or
 *		dropped.  A failure is only logged: the record of an open or a
 *		dropped database counts for nothing.
 */
void
dbreset_forget_lock(Oid dbid)
{
	char	   *path = lock_record_path(dbid);

	if (unlink(path) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

/*
 * forget_stale_lock
 *		Remove the record of database dbid if it can never count again:
 *		its transaction is over, and did not write the row version that is
 *		current now.  The row is read with a snapshot taken after the
 *		check, not from the syscache, which may not have heard of that
 *		transaction's commit yet.  The record of a transaction still under
 *		way -- a lock or a reset about to commit -- is left alone.  Only a
 *		record written between the look and the removal could be lost; its
 *		database would then show as closed, never wrongly as locked.
 */
static void
forget_stale_lock(Oid dbid)
{
	TransactionId xid;
	Snapshot	snapshot;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		counts;

	if (!read_lock_record(dbid, &xid))
		return;
	if (TransactionIdIsNormal(xid) && TransactionIdIsInProgress(xid))
		return;

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_database_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(dbid));
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 1, &key);
	tup = systable_getnext(scan);
	counts = HeapTupleIsValid(tup) && record_names_row(xid, tup);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);

	if (!counts)
		dbreset_forget_lock(dbid);
}

/*
 * Records to remove once the current transaction commits, with their
 * paths made in advance: nothing may raise an ERROR once the transaction
 * has committed.
 */
typedef struct DbresetLockForget
{
	char		path[MAXPGPATH];
} DbresetLockForget;
static List *PendingLockForgets = NIL;

/*
 * lock_forgets_at_end
 *		Transaction callback: once the transaction has committed, remove
 *		the records it asked to remove; whatever its end, forget them.
 *		Runs after the commit, where an ERROR would become a PANIC:
 *		failures are WARNINGs, a failed fsync too (the file only ever holds
 *		a record that no longer counts).
 */
static void
lock_forgets_at_end(XactEvent event, void *arg)
{
	ListCell   *lc;

	(void) arg;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;

	if (event == XACT_EVENT_COMMIT)
		foreach(lc, PendingLockForgets)
		{
			DbresetLockForget *forget = (DbresetLockForget *) lfirst(lc);

			if (unlink(forget->path) == 0)
				(void) fsync_fname_ext(LOCK_RECORD_DIR, true, false, WARNING);
			else if (errno != ENOENT)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not remove file \"%s\": %m",
								forget->path)));
		}
	list_free_deep(PendingLockForgets);
	PendingLockForgets = NIL;
}

/*
 * dbreset_forget_lock_at_commit
 *		dbreset_forget_lock(), once the current transaction commits: for
 *		the database a swap renames out of the way (props.c).  Removed
 *		before the commit, the record would be lost if the transaction then
 *		aborted and the database stayed as it was.
 */
void
dbreset_forget_lock_at_commit(Oid dbid)
{
	static bool registered = false;
	MemoryContext oldcontext;
	DbresetLockForget *forget;

	if (!registered)
	{
		RegisterXactCallback(lock_forgets_at_end, NULL);
		registered = true;
	}
	oldcontext = MemoryContextSwitchTo(TopMemoryContext);
	forget = palloc(sizeof(DbresetLockForget));
	snprintf(forget->path, MAXPGPATH, "%s", lock_record_path(dbid));
	PendingLockForgets = lappend(PendingLockForgets, forget);
	MemoryContextSwitchTo(oldcontext);
}

/*
 * dbreset_database_state
 *		Whether database dbid accepts connections, and if not, whether
 *		dbreset.lock_database() closed it.  An unknown OID reads as open.
 */
DbresetDatabaseState
dbreset_database_state(Oid dbid)
{
	HeapTuple	tup;
	Form_pg_database db;
	DbresetDatabaseState state;
	TransactionId xid;

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		return DBRESET_DB_OPEN;
	db = (Form_pg_database) GETSTRUCT(tup);

	if (dbreset_database_is_invalid(db))
		state = DBRESET_DB_INVALID;
	else if (db->datallowconn)
		state = DBRESET_DB_OPEN;
	else if (read_lock_record(dbid, &xid) && record_names_row(xid, tup))
		state = DBRESET_DB_LOCKED;
	else
		state = DBRESET_DB_CLOSED;

	ReleaseSysCache(tup);
	return state;
}

/*
 * dbreset_database_state_name
 *		The state as sessions().database_state shows it.
 */
const char *
dbreset_database_state_name(DbresetDatabaseState state)
{
	switch (state)
	{
		case DBRESET_DB_OPEN:
			return "open";
		case DBRESET_DB_LOCKED:
			return "locked";
		case DBRESET_DB_CLOSED:
			return "closed";
		case DBRESET_DB_INVALID:
			return "invalid";
	}
	return "open";				/* keep compiler quiet */
}

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
 * lock_job_run
 *		The worker's part of both functions.  Locking, with the database's
 *		lock taken over from the caller (dbreset_job_take_lock): record and
 *		commit ALLOW_CONNECTIONS false -- unless it is already false, in
 *		which case nothing changes.  Unlocking: commit ALLOW_CONNECTIONS
 *		true, then remove the record.  The result is one LOCK_RESULT_ byte.
 */
static void
lock_job_run(const void *argp, StringInfo result)
{
	const DbresetLockArgs *args = (const DbresetLockArgs *) argp;
	const char *dbname = NameStr(args->dbname);
	DbresetDatabaseState state;

	if (get_database_oid(dbname, true) != args->dbid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	state = dbreset_database_state(args->dbid);

	if (args->unlock)
	{
		if (state == DBRESET_DB_LOCKED)
		{
			set_allow_connections(dbname, true);
			dbreset_job_next_transaction();
			dbreset_forget_lock(args->dbid);
		}
		appendStringInfoChar(result, LOCK_RESULT_UNLOCKED);
		return;
	}

	if (state == DBRESET_DB_OPEN)
	{
		set_allow_connections(dbname, false);
		/* names the row version the ALTER wrote; before our commit */
		write_lock_record(args->dbid, dbname);
		appendStringInfoChar(result, LOCK_RESULT_LOCKED);
	}
	else if (state == DBRESET_DB_LOCKED)
		appendStringInfoChar(result, LOCK_RESULT_ALREADY);
	else
	{
		forget_stale_lock(args->dbid);
		appendStringInfoChar(result, LOCK_RESULT_CLOSED);
	}
}

const DbresetJob dbreset_lock_job = {
	.name = "dbreset: lock database",
	.run = lock_job_run,
};

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
	DbresetLockArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	int			grace_ms = dbreset_get_grace_arg(fcinfo, 1);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 2);
	DbresetTerminateOptions options;
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
	job = dbreset_job_start(DBRESET_JOB_LOCK, &args, sizeof(args),
							psprintf("the lock of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbid = dbreset_job_lock_existing_database(job, dbname, dbid,
												  AccessExclusiveLock,
												  timeout_ms);
		check_alterable(dbname, dbid, true);
		args.dbid = dbid;
		dbreset_job_update_args(job, &args, sizeof(args));
		nterminated = dbreset_terminate_and_run(dbname, dbid, job, &options,
												&result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	if (result.len > 0 && result.data[0] == LOCK_RESULT_CLOSED)
		ereport(NOTICE,
				(errmsg("database \"%s\" was already closed to connections; it is not marked as locked by dbreset",
						dbname),
				 errdetail("dbreset.unlock_database() will not open it.")));

	initStringInfo(&detail);
	dbreset_append_drain_detail(&detail, nterminated, &options);
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
	DbresetLockArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	DbresetJobHandle *job;
	StringInfoData result;
	DbresetDatabaseState state;
	Oid			dbid;

	dbreset_prevent_in_transaction_block("dbreset.unlock_database()");
	PreventCommandIfReadOnly("ALTER DATABASE");
	PreventCommandDuringRecovery("ALTER DATABASE");

	dbid = get_database_oid(dbname, false);
	check_alterable(dbname, dbid, false);

	state = dbreset_database_state(dbid);
	if (state == DBRESET_DB_OPEN)
		PG_RETURN_VOID();
	if (state == DBRESET_DB_CLOSED)
	{
		forget_stale_lock(dbid);
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
	job = dbreset_job_start(DBRESET_JOB_LOCK, &args, sizeof(args),
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
