/*-------------------------------------------------------------------------
 *
 * blockers.c
 *	  dbreset.drop_blockers(): every reason a force_drop_database() by the
 *	  current user would fail now, changing nothing.
 *
 * force_drop_database(dbname) stops at its first refusal; drop_blockers()
 * makes the same checks, in the same order, and reports each one that
 * would refuse as a row with blocks = true -- all of them at once.  Rows
 * with blocks = false say what the drop would do besides: terminate
 * sessions, drop inactive replication slots with the database, finish an
 * interrupted drop, drop a database that refuses connections.  No blocking
 * row means force_drop_database(dbname) with its default arguments would
 * succeed now, short of a session that does not exit within the timeout
 * or a background worker slot that is not free.
 *
 * Nothing is locked, signalled or written: the database's lock is not
 * taken, its holders and waiters are listed instead.  Everything is read
 * with the caller's own privileges, so what a role may not see
 * (pg_stat_activity's private columns) it does not see here either.
 *
 * IDENTIFICATION
 *	  src/blockers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_drop_blockers);

/* One row of drop_blockers() */
typedef struct DbresetBlocker
{
	const char *kind;
	char	   *object;
	char	   *detail;
	bool		blocks;
} DbresetBlocker;

/* The rows found so far, in the memory context they were made for */
typedef struct DbresetBlockers
{
	MemoryContext cxt;
	DbresetBlocker *rows;
	int			nrows;
	int			maxrows;
	int			nsessions;		/* sessions a drop would terminate */
} DbresetBlockers;

/*
 * add_row
 *		Append a row, copying object and detail into the list's context:
 *		callers may pass strings that live in SPI's memory.
 */
static void
add_row(DbresetBlockers *b, const char *kind, const char *object,
		const char *detail, bool blocks)
{
	DbresetBlocker *row;

	if (b->nrows == b->maxrows)
	{
		b->maxrows *= 2;
		b->rows = repalloc(b->rows, sizeof(DbresetBlocker) * b->maxrows);
	}
	row = &b->rows[b->nrows++];
	row->kind = kind;
	row->object = MemoryContextStrdup(b->cxt, object);
	row->detail = MemoryContextStrdup(b->cxt, detail);
	row->blocks = blocks;
}

/*
 * check_execute_privilege
 *		Whether the current user may call force_drop_database() at all:
 *		EXECUTE on the extension's 1.1 declaration of it, which is REVOKEd
 *		from PUBLIC.  The function is found as a member of the extension
 *		(pg_depend), wherever its schema; one that is not there cannot be
 *		called either.  Read through SQL, from catalogs every role may read.
 */
static void
check_execute_privilege(DbresetBlockers *b)
{
	Oid			signature[5] = {NAMEOID, BOOLOID, INTERVALOID, INTERVALOID,
	BOOLOID};
	Oid			argtypes[1] = {OIDVECTOROID};
	Datum		argvalues[1];
	bool		isnull;
	Datum		callable;
	const char *sql =
	"SELECT pg_catalog.format('function %s.%s(name, boolean, interval, interval, boolean)', "
	"       pg_catalog.quote_ident(n.nspname), "
	"       pg_catalog.quote_ident(p.proname)), "
	"       pg_catalog.has_function_privilege(p.oid, 'EXECUTE') "
	"FROM pg_catalog.pg_extension e "
	"JOIN pg_catalog.pg_depend d "
	"  ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass "
	" AND d.refobjid = e.oid AND d.deptype = 'e' "
	" AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
	"JOIN pg_catalog.pg_proc p ON p.oid = d.objid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
	"WHERE e.extname = 'dbreset' "
	"  AND p.proname = 'force_drop_database' AND p.proargtypes = $1";

	argvalues[0] = PointerGetDatum(buildoidvector(signature,
												  lengthof(signature)));
	if (SPI_execute_with_args(sql, 1, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up dbreset.force_drop_database()");

	if (SPI_processed == 0)
	{
		add_row(b, "privilege",
				"function dbreset.force_drop_database(name, boolean, interval, interval, boolean)",
				_("the function does not exist"), true);
		return;
	}

	callable = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
							 &isnull);
	if (isnull || !DatumGetBool(callable))
		add_row(b, "privilege",
				SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
				_("permission denied for function force_drop_database"),
				true);
}

/*
 * check_read_only
 *		PreventCommandIfReadOnly() and PreventCommandDuringRecovery(), as
 *		force_drop_database() calls them.  On a standby every transaction
 *		is read-only: the recovery is reported, as the cause.
 */
static void
check_read_only(DbresetBlockers *b)
{
	if (RecoveryInProgress())
		add_row(b, "read_only", "server",
				_("cannot execute DROP DATABASE during recovery"), true);
	else if (XactReadOnly)
		add_row(b, "read_only", "transaction",
				_("cannot execute DROP DATABASE in a read-only transaction"),
				true);
}

/*
 * check_lock_holders
 *		Every other process that holds the database object's lock, or waits
 *		for it, in any mode: all conflict with the AccessExclusiveLock that
 *		force_drop_database() takes first, and that it waits for no longer
 *		than its timeout.  Read from pg_locks joined to pg_stat_activity,
 *		so a query is shown only where pg_stat_activity would show it; its
 *		white space is folded, to keep the detail on one line.  A lock held
 *		by a prepared transaction has no process.
 */
static void
check_lock_holders(DbresetBlockers *b, Oid dbid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		argvalues[1];
	uint64		i;

	argvalues[0] = ObjectIdGetDatum(dbid);
	if (SPI_execute_with_args("SELECT l.pid, l.mode, l.granted, "
							  "pg_catalog.btrim(pg_catalog.regexp_replace(a.query, '\\s+', ' ', 'g')) "
							  "FROM pg_catalog.pg_locks l "
							  "LEFT JOIN pg_catalog.pg_stat_activity a "
							  "ON a.pid = l.pid "
							  "WHERE l.locktype = 'object' "
							  "AND l.classid = 'pg_catalog.pg_database'::pg_catalog.regclass "
							  "AND l.objid = $1 AND l.objsubid = 0 "
							  "AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() "
							  "ORDER BY l.granted DESC, l.pid",
							  1, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the locks on database %u", dbid);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *pid = SPI_getvalue(tup, desc, 1);
		char	   *mode = SPI_getvalue(tup, desc, 2);
		bool		isnull;
		bool		granted = DatumGetBool(SPI_getbinval(tup, desc, 3,
														 &isnull));
		char	   *query = SPI_getvalue(tup, desc, 4);
		StringInfoData detail;

		initStringInfo(&detail);
		appendStringInfo(&detail, granted ? _("holds %s") : _("waits for %s"),
						 mode);
		if (query != NULL && query[0] != '\0')
			appendStringInfo(&detail, _("; query: %s"), query);

		add_row(b, "lock",
				pid ? psprintf("pid %s", pid) : _("prepared transaction"),
				detail.data, true);
	}
}

/*
 * check_owner_template_current
 *		dbreset_check_droppable()'s first three refusals -- dropdb()'s --
 *		with their messages: not the owner, a template, the database we are
 *		connected to.
 */
static void
check_owner_template_current(DbresetBlockers *b, const char *dbname,
							 Oid dbid)
{
	HeapTuple	tup;
	bool		istemplate = false;

	if (!dbreset_database_ownercheck(dbid, GetUserId()))
		add_row(b, "privilege", psprintf("database %s", dbname),
				psprintf(_("must be owner of database %s"), dbname), true);

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (HeapTupleIsValid(tup))
	{
		istemplate = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
		ReleaseSysCache(tup);
	}
	if (istemplate)
		add_row(b, "template", dbname,
				_("cannot drop a template database"), true);

	if (dbid == MyDatabaseId)
		add_row(b, "current_database", dbname,
				_("cannot drop the currently open database"), true);
}

/*
 * check_replication_slots
 *		The database's logical slots, from pg_replication_slots (open to
 *		everyone): an active one refuses the drop, as in dropdb(); an
 *		inactive one is dropped with the database.
 */
static void
check_replication_slots(DbresetBlockers *b, Oid dbid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		argvalues[1];
	uint64		i;

	argvalues[0] = ObjectIdGetDatum(dbid);
	if (SPI_execute_with_args("SELECT slot_name, active_pid "
							  "FROM pg_catalog.pg_replication_slots "
							  "WHERE datoid = $1 ORDER BY slot_name",
							  1, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the replication slots of database %u",
			 dbid);

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *slot = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);
		char	   *pid = SPI_getvalue(SPI_tuptable->vals[i],
									   SPI_tuptable->tupdesc, 2);

		if (pid != NULL)
			add_row(b, "replication_slot", slot,
					psprintf(_("active logical replication slot, used by process %s"),
							 pid),
					true);
		else
			add_row(b, "replication_slot", slot,
					_("inactive logical replication slot: it will be dropped with the database"),
					false);
	}
}

/*
 * check_subscriptions
 *		The subscriptions that live in the database, found as
 *		CountDBSubscriptions() finds them (a scan of pg_subscription by
 *		subdbid); only their name and owner are shown, columns every role
 *		may read.
 */
static void
check_subscriptions(DbresetBlockers *b, Oid dbid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	rel = table_open(SubscriptionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_subscription_subdbid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(dbid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_subscription sub = (Form_pg_subscription) GETSTRUCT(tup);
		char	   *owner = GetUserNameFromId(sub->subowner, true);

		add_row(b, "subscription", NameStr(sub->subname),
				psprintf(_("logical replication subscription owned by role \"%s\""),
						 owner ? owner : "?"),
				true);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * check_prepared_transactions
 *		The database's prepared transactions: force_drop_database() refuses
 *		them unless asked to roll them back (rollback_prepared, not the
 *		default).
 */
static void
check_prepared_transactions(DbresetBlockers *b, Oid dbid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		argvalues[1];
	uint64		i;

	if (max_prepared_xacts == 0)
		return;

	argvalues[0] = ObjectIdGetDatum(dbid);
	if (SPI_execute_with_args("SELECT p.gid, pg_catalog.pg_get_userbyid(p.ownerid), "
							  "p.prepared "
							  "FROM pg_catalog.pg_prepared_xact() p "
							  "WHERE p.dbid = $1 ORDER BY p.gid",
							  1, argtypes, argvalues, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list prepared transactions");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		add_row(b, "prepared_transaction", SPI_getvalue(tup, desc, 1),
				psprintf(_("prepared by role \"%s\" at %s"),
						 SPI_getvalue(tup, desc, 2),
						 SPI_getvalue(tup, desc, 3)),
				true);
	}
}

/* A group of sessions the drop would terminate, by describe_session_owner */
typedef struct SessionGroup
{
	char	   *who;
	int			count;
} SessionGroup;

/*
 * check_sessions
 *		The sessions connected to the database, by DROP DATABASE ... WITH
 *		(FORCE)'s rules (dbreset_terminate_refusal): each one the current
 *		user may not terminate blocks, naming its pid and why; the others
 *		are counted per role and application -- autovacuum workers, which
 *		every DROP DATABASE stops, as a group of their own.
 */
static void
check_sessions(DbresetBlockers *b, Oid dbid)
{
	DbresetSession *sessions;
	int			nsessions;
	SessionGroup *groups;
	int			ngroups = 0;
	int			nautovacuum = 0;
	int			i;

	sessions = dbreset_collect_sessions(dbid, &nsessions);
	groups = palloc(sizeof(SessionGroup) * Max(nsessions, 1));
	b->nsessions = 0;

	for (i = 0; i < nsessions; i++)
	{
		const DbresetSession *s = &sessions[i];
		const char *refusal = dbreset_terminate_refusal(s, true);
		StringInfoData who;
		int			g;

		if (refusal != NULL)
		{
			initStringInfo(&who);
			appendStringInfo(&who, "pid %d (", s->pid);
			dbreset_describe_session_owner(&who, s);
			appendStringInfoChar(&who, ')');
			add_row(b, "session", who.data, refusal, true);
			continue;
		}

		b->nsessions++;
		if (s->is_autovacuum)
		{
			nautovacuum++;
			continue;
		}

		initStringInfo(&who);
		dbreset_describe_session_owner(&who, s);
		for (g = 0; g < ngroups; g++)
			if (strcmp(groups[g].who, who.data) == 0)
				break;
		if (g == ngroups)
		{
			groups[ngroups].who = who.data;
			groups[ngroups++].count = 0;
		}
		groups[g].count++;
	}

	for (i = 0; i < ngroups; i++)
		add_row(b, "session", groups[i].who,
				psprintf(ngettext("%d session will be terminated",
								  "%d sessions will be terminated",
								  groups[i].count),
						 groups[i].count),
				false);
	if (nautovacuum > 0)
		add_row(b, "session", "autovacuum worker",
				psprintf(ngettext("%d autovacuum worker will be stopped",
								  "%d autovacuum workers will be stopped",
								  nautovacuum),
						 nautovacuum),
				false);
}

/*
 * check_database_state
 *		What the drop will do besides, from the database's own state: an
 *		invalid database (an interrupted DROP DATABASE) is dropped for good;
 *		one that refuses connections -- locked by lock_database() or closed
 *		otherwise -- is dropped all the same.
 */
static void
check_database_state(DbresetBlockers *b, const char *dbname, Oid dbid)
{
	switch (dbreset_database_state(dbid))
	{
		case DBRESET_DB_OPEN:
			break;
		case DBRESET_DB_INVALID:
			add_row(b, "invalid", dbname,
					_("an interrupted DROP DATABASE left the database invalid: dropping it finishes the drop"),
					false);
			break;
		case DBRESET_DB_LOCKED:
			add_row(b, "locked", dbname,
					_("connections are not allowed: locked by dbreset.lock_database()"),
					false);
			break;
		case DBRESET_DB_CLOSED:
			add_row(b, "closed", dbname,
					_("connections are not allowed: ALLOW_CONNECTIONS is false"),
					false);
			break;
	}
}

/*
 * blocker_cmp
 *		qsort comparator: blocking rows first, then by kind and object.
 */
static int
blocker_cmp(const void *a, const void *b)
{
	const DbresetBlocker *ra = (const DbresetBlocker *) a;
	const DbresetBlocker *rb = (const DbresetBlocker *) b;
	int			c;

	if (ra->blocks != rb->blocks)
		return ra->blocks ? -1 : 1;
	if ((c = strcmp(ra->kind, rb->kind)) != 0)
		return c;
	if ((c = strcmp(ra->object, rb->object)) != 0)
		return c;
	return strcmp(ra->detail, rb->detail);
}

/*
 * collect_blockers
 *		Every row of drop_blockers() for database dbname (OID dbid), sorted,
 *		in the current memory context; *nsessions is how many sessions the
 *		drop would terminate.  The checks come in force_drop_database()'s
 *		order: its EXECUTE privilege, read-only, protected, the database's
 *		lock, dbreset_check_droppable() (owner, template, current database,
 *		active slots, subscriptions, prepared transactions), then the
 *		sessions.  A database dropped or renamed meanwhile reads as what is
 *		left of it: nothing is locked.  for_batch: for
 *		force_drop_databases(), which needs no EXECUTE on
 *		force_drop_database() -- that row is left out.
 */
static DbresetBlockers *
collect_blockers(const char *dbname, Oid dbid, bool for_batch)
{
	DbresetBlockers *b = palloc0(sizeof(DbresetBlockers));

	b->cxt = CurrentMemoryContext;
	b->maxrows = 8;
	b->rows = palloc(sizeof(DbresetBlocker) * b->maxrows);

	/* the query texts of pg_locks' holders are to be read now */
	dbreset_clear_backend_status_snapshot();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!for_batch)
		check_execute_privilege(b);
	check_read_only(b);
	if (dbreset_is_protected(dbname, dbreset_protected_databases))
		add_row(b, "protected", dbname,
				psprintf(_("database \"%s\" is protected by \"%s\""),
						 dbname, "dbreset.protected_databases"),
				true);
	check_lock_holders(b, dbid);
	check_owner_template_current(b, dbname, dbid);
	check_replication_slots(b, dbid);
	check_subscriptions(b, dbid);
	check_prepared_transactions(b, dbid);
	SPI_finish();
	PopActiveSnapshot();

	/* reads the backend status afresh, after SPI is done with it */
	check_sessions(b, dbid);
	check_database_state(b, dbname, dbid);

	qsort(b->rows, b->nrows, sizeof(DbresetBlocker), blocker_cmp);
	return b;
}

/*
 * dbreset_blockers_summary
 *		For force_drop_databases(dry_run => true): the blocking rows of
 *		drop_blockers() for database dbname (OID dbid) on one line,
 *		"kind object: detail; kind object: detail", or NULL when nothing
 *		blocks.  *nsessions is how many sessions a drop would terminate
 *		(autovacuum workers included, as force_drop_database() counts
 *		them).  EXECUTE on force_drop_database() is not asked for: the
 *		batch does not call it.  Changes nothing; the caller may hold the
 *		database's lock itself (its own locks are not listed).
 */
char *
dbreset_blockers_summary(const char *dbname, Oid dbid, int *nsessions)
{
	DbresetBlockers *b = collect_blockers(dbname, dbid, true);
	StringInfoData buf;
	int			i;

	*nsessions = b->nsessions;
	initStringInfo(&buf);
	for (i = 0; i < b->nrows; i++)
	{
		const DbresetBlocker *row = &b->rows[i];

		if (!row->blocks)
			break;				/* sorted: blocking rows come first */
		appendStringInfo(&buf, "%s%s %s: %s", i > 0 ? "; " : "",
						 row->kind, row->object, row->detail);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * dbreset.drop_blockers(dbname name)
 *		RETURNS TABLE (kind text, object text, detail text, blocks boolean)
 *
 *		Every reason force_drop_database(dbname) -- with its default
 *		arguments, called by the current user -- would fail now (blocks =
 *		true), and what it would do besides (blocks = false), changing
 *		nothing.  Rows come blocking first, then by kind and object:
 *
 *		privilege		no EXECUTE on force_drop_database(); not the owner
 *		read_only		a read-only transaction, or a standby
 *		protected		named in dbreset.protected_databases
 *		lock			a process (or prepared transaction) that holds or
 *						waits for a lock on the database
 *		template, current_database
 *		replication_slot	active: blocks; inactive: dropped with it
 *		subscription
 *		prepared_transaction
 *		session			one the user may not terminate (blocks, with the
 *						reason); the others counted per role and application
 *		invalid, locked, closed		the database's state (never blocks)
 *
 *		How force_drop_database() is called is not the database's business
 *		and is not reported: it also refuses to run inside a transaction
 *		block or a subtransaction, or after its transaction has written
 *		(25001) -- so a call of drop_blockers() inside a transaction block
 *		may show no blocking row where force_drop_database() in the same
 *		place would still fail.  Nor are the failures that only the attempt
 *		can tell: a session that does not exit within the timeout, no free
 *		background worker slot.
 *
 *		NULL or the empty name are refused as by force_drop_database(); a
 *		database that does not exist is 3D000, as force_drop_database()
 *		without if_exists.  Open to everyone: it reads what each role may
 *		read, with pg_stat_activity's visibility rule for queries.
 */
Datum
dbreset_drop_blockers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	Oid			dbid = get_database_oid(dbname, true);
	DbresetBlockers *b;
	int			i;

	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));

	dbreset_init_materialized_srf(fcinfo);
	b = collect_blockers(dbname, dbid, false);

	for (i = 0; i < b->nrows; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(b->rows[i].kind);
		values[1] = CStringGetTextDatum(b->rows[i].object);
		values[2] = CStringGetTextDatum(b->rows[i].detail);
		values[3] = BoolGetDatum(b->rows[i].blocks);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}

	return (Datum) 0;
}
