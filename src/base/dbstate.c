/*-------------------------------------------------------------------------
 *
 * dbstate.c
 *	  What state a database is in (open, in maintenance, closed, invalid),
 *	  the maintenance record that tells lock_database()'s closing from any
 *	  other, and the prepared transactions of a database.
 *
 * The maintenance record, pg_dbreset/locked.<OID>, holds the raw xmin of
 * the pg_database row version that lock_database() wrote; it counts only
 * while that row version is current and closed.  Why, and how a reset
 * carries it over: src/README.md.
 *
 * IDENTIFICATION
 *	  src/base/dbstate.c
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
#include "access/twophase.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
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
#include "base/dbstate.h"

#define RECORD_DIR		"pg_dbreset"
/* a record: "<xmin> <name>\n" */
#define RECORD_MAXLEN	(10 + 1 + NAMEDATALEN + 1)

/*
 * record_path
 *		pg_dbreset/locked.<dbid>, relative to the data directory.
 */
static char *
record_path(Oid dbid)
{
	return psprintf(RECORD_DIR "/locked.%u", dbid);
}

/*
 * read_record
 *		The transaction ID recorded for database dbid, or
 *		InvalidTransactionId if the record is not one (cut short by a
 *		crash, or of another format).  False if there is no record.
 */
static bool
read_record(Oid dbid, TransactionId *xid)
{
	char	   *path = record_path(dbid);
	char		buf[RECORD_MAXLEN + 1];
	char	   *end;
	unsigned long value;
	int			fd;
	int			len;

	*xid = InvalidTransactionId;
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	len = read(fd, buf, RECORD_MAXLEN);
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
 * dbreset_write_maintenance_record
 *		Record, durably, that the current transaction closed database dbid
 *		(named dbname, for whoever looks): the xmin of the row version it
 *		wrote, written already.  Called before the commit: a transaction
 *		that does not commit leaves a record that no row version ever
 *		matches.
 */
void
dbreset_write_maintenance_record(Oid dbid, const char *dbname)
{
	char	   *path = record_path(dbid);
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

	if (MakePGDirectory(RECORD_DIR) == 0)
		fsync_fname(".", true);
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m",
						RECORD_DIR)));

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
	fsync_fname(RECORD_DIR, true);
}

/*
 * dbreset_keep_maintenance_record
 *		The current transaction has given database dbid, which
 *		lock_database() had closed, a new row version, still closed (a
 *		reset, props.c): record that one, so that the database stays
 *		locked.
 */
void
dbreset_keep_maintenance_record(Oid dbid)
{
	dbreset_write_maintenance_record(dbid, get_database_name(dbid));
}

/*
 * dbreset_forget_maintenance_record
 *		Remove the record of database dbid, if any: once it is unlocked, or
 *		dropped.  A failure is only logged: the record of an open or a
 *		dropped database counts for nothing.
 */
void
dbreset_forget_maintenance_record(Oid dbid)
{
	char	   *path = record_path(dbid);

	if (unlink(path) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

/*
 * dbreset_forget_stale_maintenance_record
 *		Remove the record of database dbid if it can never count again:
 *		its transaction is over, and did not write the row version that is
 *		current now.  The row is read with a snapshot taken after the
 *		check, not from the syscache, which may not have heard of that
 *		transaction's commit yet.  The record of a transaction still under
 *		way -- a lock or a reset about to commit -- is left alone.  Only a
 *		record written between the look and the removal could be lost; its
 *		database would then show as closed, never wrongly as locked.
 */
void
dbreset_forget_stale_maintenance_record(Oid dbid)
{
	TransactionId xid;
	Snapshot	snapshot;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		counts;

	if (!read_record(dbid, &xid))
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
		dbreset_forget_maintenance_record(dbid);
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
static List *PendingRecordForgets = NIL;

/*
 * forget_records_at_end
 *		Transaction callback: once the transaction has committed, remove
 *		the records it asked to remove; whatever its end, forget them.
 *		Runs after the commit, where an ERROR would become a PANIC:
 *		failures are WARNINGs, a failed fsync too (the file only ever holds
 *		a record that no longer counts).
 */
static void
forget_records_at_end(XactEvent event, void *arg)
{
	ListCell   *lc;

	(void) arg;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;

	if (event == XACT_EVENT_COMMIT)
		foreach(lc, PendingRecordForgets)
		{
			DbresetLockForget *forget = (DbresetLockForget *) lfirst(lc);

			if (unlink(forget->path) == 0)
				(void) fsync_fname_ext(RECORD_DIR, true, false, WARNING);
			else if (errno != ENOENT)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not remove file \"%s\": %m",
								forget->path)));
		}
	list_free_deep(PendingRecordForgets);
	PendingRecordForgets = NIL;
}

/*
 * dbreset_forget_maintenance_record_at_commit
 *		dbreset_forget_maintenance_record(), once the current transaction commits: for
 *		the database a swap renames out of the way (props.c).  Removed
 *		before the commit, the record would be lost if the transaction then
 *		aborted and the database stayed as it was.
 */
void
dbreset_forget_maintenance_record_at_commit(Oid dbid)
{
	static bool registered = false;
	MemoryContext oldcontext;
	DbresetLockForget *forget;

	if (!registered)
	{
		RegisterXactCallback(forget_records_at_end, NULL);
		registered = true;
	}
	/* the path is made in the transaction's memory, the entry outlives it */
	forget = MemoryContextAlloc(TopMemoryContext, sizeof(DbresetLockForget));
	snprintf(forget->path, MAXPGPATH, "%s", record_path(dbid));
	oldcontext = MemoryContextSwitchTo(TopMemoryContext);
	PendingRecordForgets = lappend(PendingRecordForgets, forget);
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
	else if (read_record(dbid, &xid) && record_names_row(xid, tup))
		state = DBRESET_DB_MAINTENANCE;
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
		case DBRESET_DB_MAINTENANCE:
			return "locked";
		case DBRESET_DB_CLOSED:
			return "closed";
		case DBRESET_DB_INVALID:
			return "invalid";
	}
	return "open";				/* keep compiler quiet */
}


/*
 * dbreset_list_prepared
 *		The gids of the prepared transactions of database dbid, in gid
 *		order, as a List of strings allocated in the caller's memory
 *		context; with other_than valid, only those of other roles.  Read
 *		through pg_prepared_xact(), the function behind pg_prepared_xacts.
 */
List *
dbreset_list_prepared(Oid dbid, Oid other_than)
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
 * dbreset_gid_list
 *		Gids as a list for messages: "a", "b".
 */
char *
dbreset_gid_list(List *gids)
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
	List	   *gids = dbreset_list_prepared(dbid, InvalidOid);

	*ngids = list_length(gids);
	return dbreset_gid_list(gids);
}
