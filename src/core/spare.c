/*-------------------------------------------------------------------------
 *
 * spare.c
 *	  Spares: a copy of the template made in the background after a reset,
 *	  so that the next reset swaps it in by renames instead of copying.
 *
 * A detached worker (the maker) drops what the last swap left and creates
 * dbreset_spare_<target OID>, sealed, with a comment naming the template
 * row it copied.  A spare is used only while that row is current; the
 * swap, the maker's lock and crash recovery of half-made spares are told
 * in src/README.md.  Only databases whose name and comment both say so
 * are treated as dbreset's own.
 *
 * IDENTIFICATION
 *	  src/core/spare.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_tablespace.h"
#include "commands/comment.h"
#include "commands/dbcommands.h"
#include "common/relpath.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/md.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/copy.h"
#include "core/job.h"
#include "core/props.h"
#include "core/spare.h"

PGDLLEXPORT void dbreset_spare_worker_main(Datum main_arg);

#define SPARE_PREFIX	"dbreset_spare_"
#define OLD_PREFIX		"dbreset_old_"
#define SPARE_MARKER	"dbreset spare of database %u from template %u row %u"
#define OLD_MARKER		"dbreset old copy of database %u"

/* where a maker records the spare it is creating (15+) */
#define CREATING_DIR	DBRESET_CREATING_DIR

/* the maker's lock: the target's database object, sub-object 1 */
#define MAKER_LOCK_SUBID DBRESET_MAKER_LOCK_SUBID

/* how often a reset looks whether a maker at work has finished */
#define DBRESET_LOCK_POLL_MS 10

/* What the detached worker is asked to do, in bgw_extra */
typedef struct DbresetSpareTask
{
	Oid			database_id;	/* where the worker connects */
	Oid			authenticated_user_id;
	Oid			current_user_id;
	int			sec_context;
	Oid			target;			/* the database the spares are for */
	Oid			former_target;	/* its OID before a reset, if it changed */
	Oid			template_id;	/* InvalidOid: drop, do not make one */
	TransactionId wait_xid;		/* the caller's transaction, if any */
	int			file_copy_threshold;
	bool		file_copy_clone;
} DbresetSpareTask;

StaticAssertDecl(sizeof(DbresetSpareTask) <= BGW_EXTRALEN,
				 "DbresetSpareTask does not fit in bgw_extra");

/* One of dbreset's databases, as found by list_own_databases() */
typedef struct OwnDatabase
{
	Oid			oid;
	NameData	name;
	bool		is_spare;		/* else an old database to drop */
	Oid			target;
	Oid			template_id;	/* spares */
	TransactionId template_xmin;	/* spares */
	/* what must hold for a spare to be one (spare_state) */
	Oid			owner;
	bool		allowconn;
	bool		istemplate;
	bool		invalid;
	TransactionId row_xmin;		/* of its pg_database row */
	TransactionId comment_xmin; /* of its marker comment */
} OwnDatabase;

/*
 * list_own_databases
 *		dbreset's spares and old databases -- of target, or of every target
 *		if target is InvalidOid -- recognised by name and comment.
 */
static List *
list_own_databases(Oid target)
{
	Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0,
										  NULL);
	HeapTuple	tup;
	List	   *result = NIL;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		OwnDatabase own;
		char	   *comment;
		unsigned int a,
					b,
					c;
		char		tail;

		memset(&own, 0, sizeof(own));
		if (strncmp(NameStr(db->datname), SPARE_PREFIX,
					strlen(SPARE_PREFIX)) == 0)
			own.is_spare = true;
		else if (strncmp(NameStr(db->datname), OLD_PREFIX,
						 strlen(OLD_PREFIX)) != 0)
			continue;

		comment = dbreset_database_comment(db->oid, &own.comment_xmin);
		if (comment == NULL)
			continue;
		if (own.is_spare)
		{
			if (sscanf(comment, SPARE_MARKER "%c", &a, &b, &c, &tail) < 3)
				continue;
			own.target = a;
			own.template_id = b;
			own.template_xmin = c;
			if (strcmp(NameStr(db->datname),
					   psprintf(SPARE_PREFIX "%u", own.target)) != 0)
				continue;
		}
		else
		{
			if (sscanf(comment, OLD_MARKER "%c", &a, &tail) < 1)
				continue;
			own.target = a;
		}
		if (OidIsValid(target) && own.target != target)
			continue;

		own.oid = db->oid;
		own.name = db->datname;
		own.owner = db->datdba;
		own.allowconn = db->datallowconn;
		own.istemplate = db->datistemplate;
		own.invalid = dbreset_database_is_invalid(db);
		own.row_xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
		{
			OwnDatabase *copy = palloc(sizeof(OwnDatabase));

			memcpy(copy, &own, sizeof(own));
			result = lappend(result, copy);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * is_old_database
 *		Whether the database of pg_database row tup is an old database that
 *		a swap put out of the way, to be dropped: dbreset's own, its name
 *		and its comment say so.
 */
static bool
is_old_database(HeapTuple tup)
{
	Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
	char	   *comment;
	unsigned int a;
	char		tail;

	if (strncmp(NameStr(db->datname), OLD_PREFIX, strlen(OLD_PREFIX)) != 0)
		return false;
	comment = dbreset_database_comment(db->oid, NULL);
	return comment != NULL && sscanf(comment, OLD_MARKER "%c", &a, &tail) >= 1;
}

/*
 * template_row_xmin
 *		The xmin of the pg_database row of dbid, which every update of the
 *		row (ALTER DATABASE, GRANT, RENAME, OWNER) changes; *sealed says
 *		whether connections are allowed.  InvalidTransactionId if there is
 *		no such database.
 */
static TransactionId
template_row_xmin(Oid dbid, bool *sealed)
{
	HeapTuple	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	TransactionId xmin;

	if (!HeapTupleIsValid(tup))
		return InvalidTransactionId;
	xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	*sealed = !((Form_pg_database) GETSTRUCT(tup))->datallowconn;
	ReleaseSysCache(tup);
	return xmin;
}

/*
 * dbreset_template_is_sealed
 *		Whether nobody may connect to database dbid (ALLOW_CONNECTIONS
 *		false): only such a template can have a spare, for only then can
 *		nothing have changed in it unseen.
 */
bool
dbreset_template_is_sealed(Oid dbid)
{
	bool		sealed = false;

	(void) template_row_xmin(dbid, &sealed);
	return sealed;
}

/*
 * spare_state
 *		Whether spare is a complete copy of its template as the template is
 *		now, made for target as target is now: NULL if so, else why not.
 */
static const char *
spare_state(const OwnDatabase *spare, Oid template_id, Oid target)
{
	bool		sealed = false;
	TransactionId xmin;
	HeapTuple	sparetup;
	HeapTuple	targettup;
	const char *why = NULL;

	/*
	 * The spare itself: as the maker left it -- its row and its marker
	 * written by one transaction and not changed since, sealed, not half
	 * dropped -- and owned by the database's owner, as the maker made it.
	 * Anything else may have been changed, or forged, by someone else.
	 */
	if (spare->invalid)
		return "it was partly dropped";
	if (spare->allowconn || spare->istemplate ||
		spare->row_xmin != spare->comment_xmin)
		return "it has been altered since it was made";
	if (OidIsValid(template_id) && spare->template_id != template_id)
		return "it is a copy of another template";
	xmin = template_row_xmin(spare->template_id, &sealed);
	if (!TransactionIdIsValid(xmin))
		return "its template no longer exists";
	if (!sealed)
		return "its template allows connections";
	if (xmin != spare->template_xmin)
		return "its template has been altered since the spare was made";

	sparetup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(spare->oid));
	targettup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(target));
	if (!HeapTupleIsValid(targettup))
		why = "its database no longer exists";
	else if (!HeapTupleIsValid(sparetup))
		why = "it no longer exists";
	else if (((Form_pg_database) GETSTRUCT(targettup))->datdba != spare->owner)
		why = "the database has another owner than when the spare was made";
	else if (((Form_pg_database) GETSTRUCT(sparetup))->dattablespace !=
			 ((Form_pg_database) GETSTRUCT(targettup))->dattablespace ||
			 strcmp(dbreset_locale_options(sparetup),
					dbreset_locale_options(targettup)) != 0)
		why = "the database's tablespace, encoding or locale has changed";
	if (HeapTupleIsValid(sparetup))
		ReleaseSysCache(sparetup);
	if (HeapTupleIsValid(targettup))
		ReleaseSysCache(targettup);
	return why;
}

/*
 * drop_own_database
 *		DROP DATABASE one of ours, in the current transaction, which the
 *		caller then commits; it has no sessions (ALLOW_CONNECTIONS false).
 */
static void
drop_own_database(const OwnDatabase *own)
{
	dbreset_run_drop_database(NameStr(own->name), false);
}

/*
 * drop_own_databases
 *		Worker side, in a transaction with a snapshot: drop every spare and
 *		old database of target (InvalidOid: of every target) that the
 *		current user owns, except a spare of keep_template that is ready --
 *		each in a transaction of its own -- and remove what crashed makers
 *		left behind.  Returns how many databases were dropped; *kept says
 *		whether a ready spare was kept, *skipped counts those of other
 *		owners.  The list lives in a context of its own: each DROP commits
 *		and frees the transaction's memory.
 */
static int
drop_own_databases(Oid target, Oid keep_template, bool *kept, int *skipped)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "dbreset drop own databases",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcontext = MemoryContextSwitchTo(cxt);
	List	   *own = list_own_databases(target);
	ListCell   *lc;
	int			ndropped = 0;

	MemoryContextSwitchTo(oldcontext);
	*kept = false;
	*skipped = 0;
	foreach(lc, own)
	{
		OwnDatabase *db = (OwnDatabase *) lfirst(lc);

		if (db->is_spare && OidIsValid(keep_template) && !*kept &&
			spare_state(db, keep_template, db->target) == NULL)
		{
			*kept = true;
			continue;
		}
		/*
		 * Still the database we listed, under its name: locked first, so
		 * that nobody drops, renames or swaps it in between (a reset keeps
		 * its spare locked from before it ends the sessions until the
		 * swap commits).
		 */
		LockSharedObject(DatabaseRelationId, db->oid, 0, AccessExclusiveLock);
		if (get_database_oid(NameStr(db->name), true) != db->oid)
		{
			UnlockSharedObject(DatabaseRelationId, db->oid, 0,
							   AccessExclusiveLock);
			continue;
		}
		if (!dbreset_database_ownercheck(db->oid, GetUserId()))
		{
			UnlockSharedObject(DatabaseRelationId, db->oid, 0,
							   AccessExclusiveLock);
			(*skipped)++;
			continue;
		}
		drop_own_database(db);
		dbreset_job_next_transaction();
		ndropped++;
	}
	MemoryContextDelete(cxt);

	/*
	 * Files need no owner: the superuser, or the target's owner -- if the
	 * target still exists: a dropped one has none (and the ownercheck
	 * would fail).
	 */
	if (superuser() ||
		(OidIsValid(target) &&
		 SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(target)) &&
		 dbreset_database_ownercheck(target, GetUserId())))
		ndropped += dbreset_remove_crashed_copies(target);
	return ndropped;
}

/* mark_spare: the spare's marker comment (arg: the statement) */
static void
mark_spare(void *arg)
{
	dbreset_run_utility((const char *) arg);
	dbreset_test_point("spare:created");
}

/*
 * make_spare
 *		Worker side, in a transaction: create the spare of target from
 *		template_id, unless the template is not sealed or the target is
 *		gone, or swapped out.  On 15+ its OID is chosen and recorded first
 *		(dbreset_record_copy), and the record removed once the creation has
 *		committed.  The marker comment is written in the same transaction
 *		as the spare's row: spare_state() checks that they still match.
 *		What must outlive the commit lives in a context of its own.
 */
static void
make_spare(const DbresetSpareTask *task)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "dbreset spare",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcontext;
	DbresetCopyArgs args;
	DbresetDbProps *props;
	HeapTuple	tup;
	bool		sealed = false;
	bool		swapped_out;
	TransactionId xmin;
	char	   *sql;
	StringInfoData how;
	Oid			oid = InvalidOid;
	char	   *record = NULL;
	char	   *tplname;
	char	   *targetname;
	char	   *mark;

	/* the copy must match the row we record: hold the template still */
	LockSharedObject(DatabaseRelationId, task->template_id, 0, ShareLock);
	xmin = template_row_xmin(task->template_id, &sealed);
	if (!TransactionIdIsValid(xmin) || !sealed)
		return;
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(task->target));
	if (!HeapTupleIsValid(tup))
		return;
	swapped_out = is_old_database(tup);
	ReleaseSysCache(tup);

	/*
	 * Nor for a database that a swap has put out of the way since the
	 * reset that started us (the swap held the maker lock we waited for):
	 * it is dropped next, and its spare would stay, orphaned.
	 */
	if (swapped_out)
		return;

	oldcontext = MemoryContextSwitchTo(cxt);
	tplname = get_database_name(task->template_id);
	targetname = get_database_name(task->target);
	props = dbreset_read_db_props(task->target, cxt);
	memset(&args, 0, sizeof(args));
	snprintf(NameStr(args.dbname), NAMEDATALEN, SPARE_PREFIX "%u",
			 task->target);
	namestrcpy(&args.source, tplname);
	args.source_id = task->template_id;
	args.file_copy_threshold = task->file_copy_threshold;
	args.file_copy_clone = task->file_copy_clone;

#ifdef DBRESET_HAVE_CREATEDB_OID
	oid = dbreset_new_database_oid();
	record = dbreset_record_copy(task->target, oid, props->tablespace);
#endif

	/* the spare: the target's owner, tablespace and locale; sealed */
	initStringInfo(&how);
	props->allowconn = false;
	sql = dbreset_create_statement(&args, props, oid, &how);
	mark = psprintf("COMMENT ON DATABASE %s IS %s",
					quote_identifier(NameStr(args.dbname)),
					quote_literal_cstr(psprintf(SPARE_MARKER ", made %s",
												task->target,
												task->template_id, xmin,
												timestamptz_to_str(GetCurrentTimestamp()))));
	MemoryContextSwitchTo(oldcontext);

	/* on an error the record stays, for the next call to remove */
	dbreset_run_create(&args, sql, mark_spare, mark);
	dbreset_job_next_transaction();
	dbreset_forget_copy_record(record);

	ereport(LOG,
			(errmsg("dbreset made spare \"%s\" of database \"%s\" from template \"%s\"",
					NameStr(args.dbname), targetname, tplname),
			 errdetail_internal("%s", how.data)));
	MemoryContextDelete(cxt);
}

/*
 * dbreset_spare_worker_main
 *		Entry point of the detached worker started after a reset: wait for
 *		the caller's transaction to end (a swap commits with it), then, as
 *		the caller and holding the target's maker lock, drop what is left
 *		of earlier spares and swaps and make the next spare.  Nobody waits
 *		for it: errors go to the server log only, and a database it could
 *		not drop is found again by the next call.
 */
void
dbreset_spare_worker_main(Datum main_arg)
{
	DbresetSpareTask task;
	bool		kept;
	int			skipped;

	memcpy(&task, MyBgworkerEntry->bgw_extra, sizeof(task));
	(void) main_arg;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(task.database_id,
											  task.authenticated_user_id,
											  DBRESET_BGWORKER_FLAGS);
	SetConfigOption("default_transaction_read_only", "off",
					PGC_SUSET, PGC_S_OVERRIDE);
	dbreset_disable_transaction_timeout();
	SetUserIdAndSecContext(task.current_user_id, task.sec_context);

	pgstat_report_activity(STATE_RUNNING, "dbreset: keep a spare");
	dbreset_test_point("spare:started");
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	/*
	 * The swap, if there was one, commits with the caller's statement.  If
	 * it rolled back instead, the target is still the database it was and
	 * its spare still ready: there is nothing to do.
	 */
	if (TransactionIdIsValid(task.wait_xid))
	{
		XactLockTableWait(task.wait_xid, NULL, NULL, XLTW_None);
		if (!TransactionIdDidCommit(task.wait_xid))
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
			proc_exit(0);
		}
		dbreset_job_next_transaction();
	}

	/* one maker per target; resets wait for it rather than copy twice */
	LockSharedObjectForSession(DatabaseRelationId, task.target,
							   MAKER_LOCK_SUBID, ExclusiveLock);

	/*
	 * The spares of what the target was before the reset (another OID: a
	 * swap, a copy before 15) go too -- once a maker still at work on it
	 * is done, or its spare would stay, orphaned.  Makers wait for makers
	 * of older OIDs only: no cycle.
	 */
	if (OidIsValid(task.former_target) && task.former_target != task.target)
	{
		LockSharedObjectForSession(DatabaseRelationId, task.former_target,
								   MAKER_LOCK_SUBID, ExclusiveLock);
		(void) drop_own_databases(task.former_target, InvalidOid, &kept,
								  &skipped);
		UnlockSharedObjectForSession(DatabaseRelationId, task.former_target,
									 MAKER_LOCK_SUBID, ExclusiveLock);
	}
	(void) drop_own_databases(task.target, task.template_id, &kept, &skipped);
	if (OidIsValid(task.template_id) && !kept)
		make_spare(&task);

	PopActiveSnapshot();
	CommitTransactionCommand();
	UnlockSharedObjectForSession(DatabaseRelationId, task.target,
								 MAKER_LOCK_SUBID, ExclusiveLock);
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/*
 * dbreset_start_spare_worker
 *		Caller side: start the detached worker that tidies target's spares
 *		and, if template_id is valid, makes the next one -- once the
 *		caller's transaction has ended.  No free slot only costs the spare:
 *		a WARNING, and the next reset copies.
 */
void
dbreset_start_spare_worker(Oid target, Oid former_target, Oid template_id,
						   const DbresetCopyArgs *settings)
{
	BackgroundWorker worker;
	DbresetSpareTask task;

	memset(&task, 0, sizeof(task));
	task.database_id = MyDatabaseId;
	task.authenticated_user_id = GetAuthenticatedUserId();
	GetUserIdAndSecContext(&task.current_user_id, &task.sec_context);
	task.target = target;
	task.former_target = former_target;
	task.template_id = template_id;
	task.wait_xid = GetTopTransactionIdIfAny();
	task.file_copy_threshold = settings->file_copy_threshold;
	task.file_copy_clone = settings->file_copy_clone;

	dbreset_init_worker(&worker, "dbreset_spare_worker_main",
						"dbreset spare worker", DBRESET_SPARE_WORKER_FLAGS);
	snprintf(worker.bgw_name, BGW_MAXLEN, "dbreset spare worker for database %u",
			 target);
	memcpy(worker.bgw_extra, &task, sizeof(task));
	worker.bgw_notify_pid = 0;

	if (!RegisterDynamicBackgroundWorker(&worker, NULL))
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process to keep a spare"),
				 errhint("You may need to increase \"max_worker_processes\".")));
}

/*
 * dbreset_drop_spares_of
 *		Caller side, once database target has been dropped: have its spares
 *		and old databases -- and one that a maker may still be making --
 *		dropped in the background, as a reset without keep_spare has them
 *		dropped.  Nothing else would drop them: no reset of the database
 *		comes, and they would stay, orphaned, until drop_spares().
 */
void
dbreset_drop_spares_of(Oid target)
{
	DbresetCopyArgs settings;

	if (!dbreset_has_spares(target))
		return;
	memset(&settings, 0, sizeof(settings));
	dbreset_start_spare_worker(target, InvalidOid, InvalidOid, &settings);
}

/*
 * dbreset_has_spares
 *		Whether target has spares or old databases of dbreset's, or a maker
 *		at work: what a reset with keep_spare => false has to drop.
 */
bool
dbreset_has_spares(Oid target)
{
	LOCKTAG		tag;

	if (list_own_databases(target) != NIL)
		return true;
	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, target,
					   MAKER_LOCK_SUBID);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, false);
	return false;
}

/*
 * lock_within
 *		Take the lock on database object objid, sub-object objsubid, in
 *		mode, trying every DBRESET_LOCK_POLL_MS for up to timeout_ms (0: try
 *		once); false if it could not be had.  A conditional lock rather than
 *		a wait bounded by lock_timeout, whose expiry is an ERROR that only a
 *		subtransaction could catch.  Invalidations are accepted once it is
 *		held, as LockSharedObject() does.
 */
static bool
lock_within(Oid objid, uint16 objsubid, LOCKMODE mode, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   timeout_ms);
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, objid, objsubid);
	while (LockAcquire(&tag, mode, false, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		if (GetCurrentTimestamp() >= deadline)
			return false;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 DBRESET_LOCK_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	AcceptInvalidationMessages();
	return true;
}

/*
 * dbreset_spare_state
 *		Why spare, found ready for target and template_id, is no longer
 *		ready, looking again now; NULL if it still is.
 */
const char *
dbreset_spare_state(Oid spare, Oid template_id, Oid target)
{
	ListCell   *lc;

	foreach(lc, list_own_databases(target))
	{
		OwnDatabase *db = (OwnDatabase *) lfirst(lc);

		if (db->oid == spare && db->is_spare)
			return spare_state(db, template_id, target);
	}
	return "it was dropped meanwhile";
}

/*
 * lock_spare
 *		Caller side: lock spare (found ready for target and template_id)
 *		against DROP DATABASE, a rename and another reset, as renaming it
 *		will, before any session is signalled; then look again: it may have
 *		been dropped or changed before we had the lock.  NULL if it is
 *		locked and still ready, else why not -- with no lock kept.  Never
 *		waits: whoever holds it (a DROP of it, drop_spares()) wins, and the
 *		reset copies.
 */
static const char *
lock_spare(Oid spare, Oid template_id, Oid target)
{
	const char *why;

	if (!lock_within(spare, 0, AccessExclusiveLock, 0))
		return "it was in use by another transaction";
	why = dbreset_spare_state(spare, template_id, target);
	if (why != NULL)
		UnlockSharedObject(DatabaseRelationId, spare, 0, AccessExclusiveLock);
	return why;
}

/*
 * dbreset_let_go_of_spare
 *		Caller side: release what dbreset_find_spare() took for spare of
 *		target, when it is not swapped in after all.
 */
void
dbreset_let_go_of_spare(Oid target, Oid spare)
{
	UnlockSharedObject(DatabaseRelationId, spare, 0, AccessExclusiveLock);
	UnlockSharedObject(DatabaseRelationId, target, MAKER_LOCK_SUBID,
					   ExclusiveLock);
}

/*
 * dbreset_find_spare
 *		Caller side, before target is locked: wait up to timeout_ms for a
 *		maker at work on target, then return the OID of a spare of target
 *		that is a complete copy of template_id as it is now, locked
 *		(lock_spare), or InvalidOid and why not in *why.  With a spare, the
 *		maker lock is kept until the end of the transaction, so that no
 *		maker starts during the swap (or until dbreset_let_go_of_spare());
 *		without one it is let go of at once: the copy's worker that comes
 *		next must not find a lock of ours in its way (the job core's list
 *		of the caller's locks, core/job.c).
 */
Oid
dbreset_find_spare(Oid target, Oid template_id, int timeout_ms,
				   const char **why)
{
	ListCell   *lc;

	if (!lock_within(target, MAKER_LOCK_SUBID, ExclusiveLock, timeout_ms))
	{
		*why = "the spare was still being made";
		return InvalidOid;
	}

	*why = "there was none";
	foreach(lc, list_own_databases(target))
	{
		OwnDatabase *db = (OwnDatabase *) lfirst(lc);
		const char *state;

		if (!db->is_spare)
			continue;
		state = spare_state(db, template_id, target);
		if (state == NULL)
			state = lock_spare(db->oid, template_id, target);
		if (state == NULL)
		{
			*why = NULL;
			return db->oid;
		}
		*why = state;
	}
	UnlockSharedObject(DatabaseRelationId, target, MAKER_LOCK_SUBID,
					   ExclusiveLock);
	return InvalidOid;
}

/*
 * dbreset_swap_spare
 *		Caller side, in the caller's transaction, with target locked and
 *		its sessions gone: rename target out of the way (sealed, marked for
 *		the drop) and spare into its place, and give the spare everything
 *		the target had.  Commits with the caller's statement.
 */
void
dbreset_swap_spare(const char *dbname, Oid target, Oid spare)
{
	DbresetDbProps *props = dbreset_read_db_props(target,
												  CurrentMemoryContext);
	char	   *spare_name = get_database_name(spare);
	char	   *old_name = psprintf(OLD_PREFIX "%u", spare);

	/* locked since dbreset_find_spare(): it cannot have gone */
	if (spare_name == NULL)
		elog(ERROR, "spare database %u of database \"%s\" vanished", spare,
			 dbname);

	dbreset_run_utility(psprintf("ALTER DATABASE %s RENAME TO %s",
								 quote_identifier(dbname),
								 quote_identifier(old_name)));
	dbreset_run_utility(psprintf("ALTER DATABASE %s RENAME TO %s",
								 quote_identifier(spare_name),
								 quote_identifier(dbname)));
	if (get_database_oid(dbname, false) != spare)
		elog(ERROR, "database \"%s\" was not swapped", dbname);

	/* the old one: nobody may connect before it is dropped */
	dbreset_seal_database(target);
	CreateSharedComments(target, DatabaseRelationId,
						 psprintf(OLD_MARKER ", replaced %s", spare,
								  timestamptz_to_str(GetCurrentTimestamp())));

	/*
	 * The new one: what the target had.  Its owner is the target's already
	 * (spare_state); the spare's marker goes, replaced by the comment if
	 * there is one.
	 */
	if (props->comment == NULL)
		CreateSharedComments(spare, DatabaseRelationId, NULL);
	CommandCounterIncrement();
	dbreset_apply_db_props(spare, props);
	dbreset_test_point("swap:before_commit");
}

/*
 * dbreset_list_spares
 *		dbreset's spares and old databases, and the makers at work, as a
 *		List of DbresetSpareRow for dbreset.spares(): state 'ready' (the
 *		next reset swaps it in), 'stale' (it no longer matches its template
 *		or database; dropped by the next call), 'orphaned' (its database is
 *		gone), 'creating' (a maker is at work), 'dropping' (an old database
 *		the last swap left, dropped in the background), 'crashed' (files of
 *		a spare whose making was interrupted).
 */
List *
dbreset_list_spares(void)
{
	List	   *rows = NIL;
	List	   *own;
	ListCell   *lc;
	DIR		   *dir;
	struct dirent *de;

	own = list_own_databases(InvalidOid);
	foreach(lc, own)
	{
		OwnDatabase *db = (OwnDatabase *) lfirst(lc);
		DbresetSpareRow *row = palloc0(sizeof(DbresetSpareRow));

		row->spare = pstrdup(NameStr(db->name));
		row->dbname = get_database_name(db->target);
		row->template_name = db->is_spare ?
			get_database_name(db->template_id) : NULL;
		if (!db->is_spare)
			row->state = "dropping";
		else if (row->dbname == NULL)
			row->state = "orphaned";
		else
			row->state = spare_state(db, InvalidOid, db->target) ?
				"stale" : "ready";
		rows = lappend(rows, row);
	}

	/* makers at work, and what crashed ones left */
	dir = AllocateDir(CREATING_DIR);
	while (dir && (de = ReadDir(dir, CREATING_DIR)) != NULL)
	{
		unsigned int t,
					oid,
					spc;
		LOCKTAG		tag;
		DbresetSpareRow *row;

		if (sscanf(de->d_name, "creating.%u.%u.%u", &t, &oid, &spc) != 3)
			continue;
		if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(oid)))
			continue;			/* committed: listed above */
		row = palloc0(sizeof(DbresetSpareRow));
		row->state = "creating";
		SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, t,
						   MAKER_LOCK_SUBID);
		if (LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		{
			LockRelease(&tag, ShareLock, false);
			row->state = "crashed";
		}
		row->spare = psprintf(SPARE_PREFIX "%u", t);
		row->dbname = get_database_name(t);
		rows = lappend(rows, row);
	}
	if (dir)
		FreeDir(dir);
	return rows;
}

/*
 * drop_spares_job_run
 *		The drop_spares() job, in the worker: drop_own_databases(), keeping nothing; the
 *		result is the number dropped and the number skipped.
 */
static void
drop_spares_job_run(const void *argp, StringInfo result)
{
	const DbresetDropSparesArgs *args = (const DbresetDropSparesArgs *) argp;
	bool		kept;
	int			skipped;
	int			ndropped;

	if (OidIsValid(args->target))
		dbreset_job_hold_lock(DatabaseRelationId, args->target,
							  MAKER_LOCK_SUBID, ExclusiveLock);
	ndropped = drop_own_databases(args->target, InvalidOid, &kept, &skipped);
	appendStringInfo(result, "%d %d", ndropped, skipped);
}

DBRESET_JOB(dbreset_drop_spares_job, "dbreset: drop spares", drop_spares_job_run);
