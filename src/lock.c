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
 * pg_dbreset/locked.<OID>, holding the database's name, written (and
 * fsynced) before the commit and removed after the unlock commits:
 * unlock_database() opens only what lock_database() closed -- never
 * template0, a sealed snapshot, or a database an administrator closed by
 * hand.  A record counts only for a closed database of the name it holds.  The record is not replicated:
 * on a promoted standby a locked database shows as closed, and ALTER
 * DATABASE opens it.
 *
 * IDENTIFICATION
 *	  src/lock.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_lock_database);
PG_FUNCTION_INFO_V1(dbreset_unlock_database);

#define LOCK_RECORD_DIR		"pg_dbreset"

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
 * lock_record_matches
 *		Whether dbreset recorded that it closed database dbid, under the
 *		name it has now.  The name guards against a record that outlived
 *		its database (a plain DROP DATABASE) and whose OID came back.
 */
static bool
lock_record_matches(Oid dbid, const char *dbname)
{
	char	   *path = lock_record_path(dbid);
	char		buf[NAMEDATALEN + 1];
	int			fd;
	int			len;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	len = read(fd, buf, NAMEDATALEN);
	CloseTransientFile(fd);
	if (len < 0)
		return false;
	buf[len] = '\0';
	return strcmp(buf, dbname) == 0;
}

/*
 * write_lock_record
 *		Record, durably, that dbreset is closing database dbid (named
 *		dbname, for whoever looks).  Written before the commit: a crash in
 *		between leaves a record for an open database, which counts for
 *		nothing (dbreset_database_state).
 */
static void
write_lock_record(Oid dbid, const char *dbname)
{
	char	   *path = lock_record_path(dbid);
	int			fd;

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
	if (write(fd, dbname, strlen(dbname)) != (ssize_t) strlen(dbname) ||
		pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	CloseTransientFile(fd);
	fsync_fname(LOCK_RECORD_DIR, true);
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
 * dbreset_move_lock
 *		A locked database reset before PostgreSQL 15 comes back under a new
 *		OID, still closed (the reset keeps ALLOW_CONNECTIONS): the record
 *		follows it, so that unlock_database() still opens it.  Called once
 *		the new database has committed.
 */
void
dbreset_move_lock(Oid from, Oid to)
{
	char	   *frompath = lock_record_path(from);
	char	   *topath = lock_record_path(to);

	if (rename(frompath, topath) == 0)
		fsync_fname(LOCK_RECORD_DIR, true);
	else if (errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not rename file \"%s\" to \"%s\": %m",
						frompath, topath)));
}

/*
 * Moves of records waiting for the current transaction to commit, with
 * their paths made in advance: nothing may raise an ERROR once the
 * transaction has committed.
 */
typedef struct DbresetLockMove
{
	char		from[MAXPGPATH];
	char		to[MAXPGPATH];
} DbresetLockMove;
static List *PendingLockMoves = NIL;

/*
 * lock_moves_at_end
 *		Transaction callback: once the transaction has committed, move the
 *		records it asked to move; whatever its end, forget them.  Runs after
 *		the commit, where an ERROR would become a PANIC: failures are
 *		WARNINGs (a failed fsync follows data_sync_retry, as everywhere).
 */
static void
lock_moves_at_end(XactEvent event, void *arg)
{
	ListCell   *lc;

	(void) arg;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;

	if (event == XACT_EVENT_COMMIT)
		foreach(lc, PendingLockMoves)
		{
			DbresetLockMove *move = (DbresetLockMove *) lfirst(lc);

			if (rename(move->from, move->to) == 0)
				(void) fsync_fname_ext(LOCK_RECORD_DIR, true, false, WARNING);
			else if (errno != ENOENT)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not rename file \"%s\" to \"%s\": %m",
								move->from, move->to)));
		}
	list_free_deep(PendingLockMoves);
	PendingLockMoves = NIL;
}

/*
 * dbreset_move_lock_at_commit
 *		dbreset_move_lock(), once the current transaction commits: for a
 *		swap of a spare, which renames databases in the caller's own
 *		transaction.  Moved before the commit, the record would stay with
 *		the spare if the transaction then aborted.
 */
void
dbreset_move_lock_at_commit(Oid from, Oid to)
{
	static bool registered = false;
	MemoryContext oldcontext;
	DbresetLockMove *move;

	if (!registered)
	{
		RegisterXactCallback(lock_moves_at_end, NULL);
		registered = true;
	}
	oldcontext = MemoryContextSwitchTo(TopMemoryContext);
	move = palloc(sizeof(DbresetLockMove));
	snprintf(move->from, MAXPGPATH, "%s", lock_record_path(from));
	snprintf(move->to, MAXPGPATH, "%s", lock_record_path(to));
	PendingLockMoves = lappend(PendingLockMoves, move);
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

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		return DBRESET_DB_OPEN;
	db = (Form_pg_database) GETSTRUCT(tup);

	if (dbreset_database_is_invalid(db))
		state = DBRESET_DB_INVALID;
	else if (db->datallowconn)
		state = DBRESET_DB_OPEN;
	else if (lock_record_matches(dbid, NameStr(db->datname)))
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
		/* a record with nothing committed behind it must not stay */
		write_lock_record(args->dbid, dbname);
		PG_TRY();
		{
			set_allow_connections(dbname, false);
		}
		PG_CATCH();
		{
			dbreset_forget_lock(args->dbid);
			PG_RE_THROW();
		}
		PG_END_TRY();
		appendStringInfoChar(result, LOCK_RESULT_LOCKED);
	}
	else if (state == DBRESET_DB_LOCKED)
		appendStringInfoChar(result, LOCK_RESULT_ALREADY);
	else
		appendStringInfoChar(result, LOCK_RESULT_CLOSED);
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
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("database \"%s\" was not locked by dbreset.lock_database()",
						dbname),
				 errdetail("It does not allow connections, but dbreset did not close it."),
				 errhint("To allow connections anyway, use ALTER DATABASE %s ALLOW_CONNECTIONS true.",
						 quote_identifier(dbname))));

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
