/*-------------------------------------------------------------------------
 *
 * refusals.c
 *	  DROP DATABASE's refusals, written once: the drop, the reset and the
 *	  bulk drop raise the first that applies, before any session is
 *	  touched; drop_blockers() lists every one, changing nothing.
 *
 * Each refusal dropdb() raises carries its SQLSTATE and message
 * (refusal_rules).  drop_blockers() reads with the caller's privileges,
 * locks nothing and signals nobody.
 *
 * IDENTIFICATION
 *	  src/core/refusals.c
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
#include "replication/slot.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "base/args.h"
#include "base/dbstate.h"
#include "core/backends.h"
#include "core/refusals.h"

/*
 * DROP DATABASE's refusals that dbreset raises itself, each written once:
 * force_drop_database(), reset_database() and force_drop_databases() raise
 * the first that applies (dbreset_check_droppable and the checks below);
 * drop_blockers() lists every one that applies, as a row of this kind
 * whose detail is the message.  Those of dropdb() carry its messages and
 * SQLSTATEs.
 */
typedef enum DbresetRefusal
{
	REFUSAL_PROTECTED,
	REFUSAL_NOT_OWNER,
	REFUSAL_TEMPLATE,
	REFUSAL_CURRENT_DATABASE,
	REFUSAL_ACTIVE_SLOT,
	REFUSAL_SUBSCRIPTION,
	REFUSAL_PREPARED
} DbresetRefusal;

typedef struct DbresetRefusalRule
{
	const char *kind;			/* drop_blockers()'s kind */
	int			sqlstate;
	const char *message;		/* may name the database: %s */
} DbresetRefusalRule;

static const DbresetRefusalRule refusal_rules[] = {
	[REFUSAL_PROTECTED] = {"protected", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
	gettext_noop("database \"%s\" is protected by \"dbreset.protected_databases\"")},
	[REFUSAL_NOT_OWNER] = {"privilege", ERRCODE_INSUFFICIENT_PRIVILEGE,
	gettext_noop("must be owner of database %s")},
	[REFUSAL_TEMPLATE] = {"template", ERRCODE_WRONG_OBJECT_TYPE,
	gettext_noop("cannot drop a template database")},
	[REFUSAL_CURRENT_DATABASE] = {"current_database", ERRCODE_OBJECT_IN_USE,
	gettext_noop("cannot drop the currently open database")},
	[REFUSAL_ACTIVE_SLOT] = {"replication_slot", ERRCODE_OBJECT_IN_USE,
	gettext_noop("database \"%s\" is used by an active logical replication slot")},
	[REFUSAL_SUBSCRIPTION] = {"subscription", ERRCODE_OBJECT_IN_USE,
	gettext_noop("database \"%s\" is being used by logical replication subscription")},
	[REFUSAL_PREPARED] = {"prepared_transaction", ERRCODE_OBJECT_IN_USE,
	gettext_noop("database \"%s\" is being used by prepared transactions")},
};

/*
 * refusal_message
 *		The message of refusal r for database dbname, translated.
 */
static char *
refusal_message(DbresetRefusal r, const char *dbname)
{
	return psprintf(_(refusal_rules[r].message), dbname);
}

/*
 * refusal_error
 *		Start the error report of refusal r for dbname: its SQLSTATE and
 *		message.  For ereport(ERROR, (refusal_error(...), errdetail(...))).
 */
static int
refusal_error(DbresetRefusal r, const char *dbname)
{
	errcode(refusal_rules[r].sqlstate);
	return errmsg_internal("%s", refusal_message(r, dbname));
}

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
 * list_execute_privilege
 *		Whether the current user may call force_drop_database() at all:
 *		EXECUTE on the extension's 1.1 declaration of it, which is REVOKEd
 *		from PUBLIC.  The function is found as a member of the extension
 *		(pg_depend), wherever its schema; one that is not there cannot be
 *		called either.  Read through SQL, from catalogs every role may read.
 */
static void
list_execute_privilege(DbresetBlockers *b)
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
 * list_read_only
 *		PreventCommandIfReadOnly() and PreventCommandDuringRecovery(), as
 *		force_drop_database() calls them.  On a standby every transaction
 *		is read-only: the recovery is reported, as the cause.
 */
static void
list_read_only(DbresetBlockers *b)
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
 * list_lock_holders
 *		Every other process that holds the database object's lock, or waits
 *		for it, in any mode: all conflict with the AccessExclusiveLock that
 *		force_drop_database() takes first, and that it waits for no longer
 *		than its timeout.  Read from pg_locks joined to pg_stat_activity,
 *		so a query is shown only where pg_stat_activity would show it; its
 *		white space is folded, to keep the detail on one line.  A lock held
 *		by a prepared transaction has no process.
 */
static void
list_lock_holders(DbresetBlockers *b, Oid dbid)
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
 * list_owner_template_current
 *		dbreset_check_droppable()'s first three refusals -- dropdb()'s --
 *		with their messages: not the owner, a template, the database we are
 *		connected to.
 */
static void
list_owner_template_current(DbresetBlockers *b, const char *dbname,
							 Oid dbid)
{
	HeapTuple	tup;
	bool		istemplate = false;

	if (!dbreset_database_ownercheck(dbid, GetUserId()))
		add_row(b, refusal_rules[REFUSAL_NOT_OWNER].kind,
				psprintf("database %s", dbname),
				refusal_message(REFUSAL_NOT_OWNER, dbname), true);

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (HeapTupleIsValid(tup))
	{
		istemplate = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
		ReleaseSysCache(tup);
	}
	if (istemplate)
		add_row(b, refusal_rules[REFUSAL_TEMPLATE].kind, dbname,
				refusal_message(REFUSAL_TEMPLATE, dbname), true);

	if (dbid == MyDatabaseId)
		add_row(b, refusal_rules[REFUSAL_CURRENT_DATABASE].kind, dbname,
				refusal_message(REFUSAL_CURRENT_DATABASE, dbname), true);
}

/*
 * list_replication_slots
 *		The database's logical slots, from pg_replication_slots (open to
 *		everyone): an active one refuses the drop, as in dropdb(); an
 *		inactive one is dropped with the database.
 */
static void
list_replication_slots(DbresetBlockers *b, Oid dbid)
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
			add_row(b, refusal_rules[REFUSAL_ACTIVE_SLOT].kind, slot,
					psprintf(_("active logical replication slot, used by process %s"),
							 pid),
					true);
		else
			add_row(b, refusal_rules[REFUSAL_ACTIVE_SLOT].kind, slot,
					_("inactive logical replication slot: it will be dropped with the database"),
					false);
	}
}

/*
 * list_subscriptions
 *		The subscriptions that live in the database, found as
 *		CountDBSubscriptions() finds them (a scan of pg_subscription by
 *		subdbid); only their name and owner are shown, columns every role
 *		may read.
 */
static void
list_subscriptions(DbresetBlockers *b, Oid dbid)
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

		add_row(b, refusal_rules[REFUSAL_SUBSCRIPTION].kind, NameStr(sub->subname),
				psprintf(_("logical replication subscription owned by role \"%s\""),
						 owner ? owner : "?"),
				true);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * list_prepared_transactions
 *		The database's prepared transactions: force_drop_database() refuses
 *		them unless asked to roll them back (rollback_prepared, not the
 *		default).
 */
static void
list_prepared_transactions(DbresetBlockers *b, Oid dbid)
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

		add_row(b, refusal_rules[REFUSAL_PREPARED].kind, SPI_getvalue(tup, desc, 1),
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
 * list_sessions
 *		The sessions connected to the database, by DROP DATABASE ... WITH
 *		(FORCE)'s rules (dbreset_terminate_refusal): each one the current
 *		user may not terminate blocks, naming its pid and why; the others
 *		are counted per role and application -- autovacuum workers, which
 *		every DROP DATABASE stops, as a group of their own.
 */
static void
list_sessions(DbresetBlockers *b, Oid dbid)
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
 * list_database_state
 *		What the drop will do besides, from the database's own state: an
 *		invalid database (an interrupted DROP DATABASE) is dropped for good;
 *		one that refuses connections -- locked by lock_database() or closed
 *		otherwise -- is dropped all the same.
 */
static void
list_database_state(DbresetBlockers *b, const char *dbname, Oid dbid)
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
		case DBRESET_DB_MAINTENANCE:
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
DbresetBlockers *
dbreset_collect_blockers(const char *dbname, Oid dbid, bool for_batch)
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
		list_execute_privilege(b);
	list_read_only(b);
	if (dbreset_is_protected(dbname, dbreset_protected_databases))
		add_row(b, refusal_rules[REFUSAL_PROTECTED].kind, dbname,
				refusal_message(REFUSAL_PROTECTED, dbname), true);
	list_lock_holders(b, dbid);
	list_owner_template_current(b, dbname, dbid);
	list_replication_slots(b, dbid);
	list_subscriptions(b, dbid);
	list_prepared_transactions(b, dbid);
	SPI_finish();
	PopActiveSnapshot();

	/* reads the backend status afresh, after SPI is done with it */
	list_sessions(b, dbid);
	list_database_state(b, dbname, dbid);

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
	DbresetBlockers *b = dbreset_collect_blockers(dbname, dbid, true);
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
 * dbreset_check_prepared_transactions
 *		Refuse a database with prepared transactions, naming their gids.
 *		Core refuses them too, but only after WITH (FORCE) would have been
 *		the next step; we refuse before any session is terminated -- and
 *		again once they have gone: a session given a grace may have
 *		prepared a transaction meanwhile.  "late", for that second look,
 *		says what was not done ("The database was not dropped.").
 */
void
dbreset_check_prepared_transactions(const char *dbname, Oid dbid, const char *late)
{
	uint64		ngids;
	char	   *gids = dbreset_prepared_transactions(dbid, &ngids);

	if (ngids > 0 && late == NULL)
		ereport(ERROR,
				(refusal_error(REFUSAL_PREPARED, dbname),
				 errdetail_plural("Prepared transaction %s uses the database. No session was terminated.",
								  "Prepared transactions %s use the database. No session was terminated.",
								  (unsigned long) ngids, gids),
				 errhint("Commit or roll them back with COMMIT PREPARED or ROLLBACK PREPARED.")));
	if (ngids > 0)
		ereport(ERROR,
				(refusal_error(REFUSAL_PREPARED, dbname),
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
 *		they are to be rolled back first (dbreset_end_sessions_and_run).
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
		ereport(ERROR, (refusal_error(REFUSAL_NOT_OWNER, dbname)));

	if (istemplate)
		ereport(ERROR, (refusal_error(REFUSAL_TEMPLATE, dbname)));

	if (dbid == MyDatabaseId)
		ereport(ERROR, (refusal_error(REFUSAL_CURRENT_DATABASE, dbname)));

	(void) ReplicationSlotsCountDBSlots(dbid, &nslots, &nslots_active);
	if (nslots_active > 0)
		ereport(ERROR,
				(refusal_error(REFUSAL_ACTIVE_SLOT, dbname),
				 errdetail_plural("There is %d active slot.",
								  "There are %d active slots.",
								  nslots_active, nslots_active)));

	if ((nsubscriptions = CountDBSubscriptions(dbid)) > 0)
		ereport(ERROR,
				(refusal_error(REFUSAL_SUBSCRIPTION, dbname),
				 errdetail_plural("There is %d subscription.",
								  "There are %d subscriptions.",
								  nsubscriptions, nsubscriptions)));

	if (!rollback_prepared)
		dbreset_check_prepared_transactions(dbname, dbid, NULL);
}

/*
 * dbreset_check_may_roll_back
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
void
dbreset_check_may_roll_back(const char *dbname, Oid dbid, bool late)
{
	Oid			authuser = GetAuthenticatedUserId();
	const char *outcome = late ?
		_("The sessions were terminated, but the database was not dropped.") :
		_("No session was terminated.");
	List	   *others;

	if (dbreset_list_prepared(dbid, InvalidOid) == NIL)
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
	others = dbreset_list_prepared(dbid, GetUserId());
	if (others != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to finish prepared transaction \"%s\"",
						(const char *) linitial(others)),
				 errdetail_internal("%s", outcome),
				 errhint("Must be superuser or the user that prepared the transaction.")));
}

/*
 * dbreset_check_not_protected
 *		Refuse a database named in protected, a value of
 *		dbreset.protected_databases (dbreset_is_protected).  The check is by name, and so is the
 *		worker's lookup, so a rename in between cannot slip a protected
 *		database through.
 */
void
dbreset_check_not_protected(const char *dbname, const char *protected)
{
	if (dbreset_is_protected(dbname, protected))
		ereport(ERROR,
				(refusal_error(REFUSAL_PROTECTED, dbname),
				 errhint("A superuser can remove it from the setting to drop it.")));
}
