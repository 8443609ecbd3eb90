/*-------------------------------------------------------------------------
 *
 * sessions.c
 *	  dbreset.sessions() and dbreset.terminate_sessions(): the sessions of a
 *	  database, read live, and ending them as pg_terminate_backend() would.
 *
 * IDENTIFICATION
 *	  src/commands/sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "common/ip.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "base/dbstate.h"
#include "core/backends.h"
#include "core/ending.h"
PG_FUNCTION_INFO_V1(dbreset_sessions);
PG_FUNCTION_INFO_V1(dbreset_terminate_sessions);

/*
 * Columns of dbreset.sessions(); terminate_sessions() returns a subset.
 */
enum
{
	COL_PID,
	COL_DATNAME,
	COL_USENAME,
	COL_APPLICATION_NAME,
	COL_CLIENT_ADDR,
	COL_BACKEND_TYPE,
	COL_STATE,
	COL_BACKEND_START,
	COL_XACT_START,
	COL_QUERY_START,
	COL_WAIT_EVENT_TYPE,
	COL_WAIT_EVENT,
	COL_QUERY,
	COL_CAN_TERMINATE,
	COL_DATABASE_STATE,			/* 1.1 */
	NUM_SESSION_COLS
};

/*
 * session_visible
 *		pg_stat_activity's rule for the private columns (query, state,
 *		client address, timestamps, wait events): own role, or privileges
 *		of pg_read_all_stats.
 */
static bool
session_visible(const DbresetSession *s)
{
	Oid			owner = s->status ? s->status->st_userid : s->roleId;

	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS) ||
		has_privs_of_role(GetUserId(), owner);
}

/*
 * session_state
 *		pg_stat_activity's text for a backend state, or NULL.
 */
static const char *
session_state(const PgBackendStatus *status)
{
	switch (status->st_state)
	{
		case STATE_IDLE:
			return "idle";
		case STATE_RUNNING:
			return "active";
		case STATE_IDLEINTRANSACTION:
			return "idle in transaction";
		case STATE_FASTPATH:
			return "fastpath function call";
		case STATE_IDLEINTRANSACTION_ABORTED:
			return "idle in transaction (aborted)";
		case STATE_DISABLED:
			return "disabled";
#ifdef DBRESET_HAVE_STATE_STARTING
		case STATE_STARTING:
			return "starting";
#endif
		default:
			return NULL;
	}
}

/*
 * session_client_addr
 *		The client's IP address as an inet datum, or NULL for Unix sockets,
 *		background processes and unknown addresses (as pg_stat_activity).
 */
static bool
session_client_addr(const PgBackendStatus *status, Datum *value)
{
	char		remote_host[NI_MAXHOST];
	int			family = status->st_clientaddr.addr.ss_family;

	if (family != AF_INET && family != AF_INET6)
		return false;

	remote_host[0] = '\0';
	if (pg_getnameinfo_all(&status->st_clientaddr.addr,
						   status->st_clientaddr.salen,
						   remote_host, sizeof(remote_host),
						   NULL, 0,
						   NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return false;
	clean_ipv6_addr(family, remote_host);
	*value = DirectFunctionCall1(inet_in, CStringGetDatum(remote_host));
	return true;
}

/*
 * name_datum
 *		A name datum for a C string.
 */
static Datum
name_datum(const char *str)
{
	Name		name = (Name) palloc0(NAMEDATALEN);

	namestrcpy(name, str);
	return NameGetDatum(name);
}

/*
 * set_timestamp
 *		Column col of a row is ts, or NULL where ts is 0 (not set).
 */
static void
set_timestamp(Datum *values, bool *nulls, int col, TimestampTz ts)
{
	if (ts != 0)
	{
		values[col] = TimestampTzGetDatum(ts);
		nulls[col] = false;
	}
}

/*
 * session_values
 *		Fill one row of dbreset.sessions() for session s.
 */
static void
session_values(const DbresetSession *s, Datum *values, bool *nulls)
{
	const PgBackendStatus *st = s->status;
	char	   *datname = get_database_name(s->databaseId);
	char	   *usename = OidIsValid(s->roleId) ?
		GetUserNameFromId(s->roleId, true) : NULL;
	const char *backend_type = dbreset_session_backend_type(s);
	PGPROC	   *proc;
	int			i;

	for (i = 0; i < NUM_SESSION_COLS; i++)
		nulls[i] = true;

	values[COL_PID] = Int32GetDatum(s->pid);
	nulls[COL_PID] = false;
	if (datname != NULL)
	{
		values[COL_DATNAME] = name_datum(datname);
		nulls[COL_DATNAME] = false;
	}
	if (usename != NULL)
	{
		values[COL_USENAME] = name_datum(usename);
		nulls[COL_USENAME] = false;
	}
	if (backend_type != NULL)
	{
		values[COL_BACKEND_TYPE] = CStringGetTextDatum(backend_type);
		nulls[COL_BACKEND_TYPE] = false;
	}
	values[COL_CAN_TERMINATE] = BoolGetDatum(dbreset_may_terminate(s));
	nulls[COL_CAN_TERMINATE] = false;
	values[COL_DATABASE_STATE] =
		CStringGetTextDatum(dbreset_database_state_name(dbreset_database_state(s->databaseId)));
	nulls[COL_DATABASE_STATE] = false;

	/* the backend cleared its status entry on its way out */
	if (st == NULL)
		return;

	if (st->st_appname)
	{
		values[COL_APPLICATION_NAME] = CStringGetTextDatum(st->st_appname);
		nulls[COL_APPLICATION_NAME] = false;
	}

	if (!session_visible(s))
	{
		values[COL_QUERY] = CStringGetTextDatum("<insufficient privilege>");
		nulls[COL_QUERY] = false;
		return;
	}

	nulls[COL_CLIENT_ADDR] = !session_client_addr(st, &values[COL_CLIENT_ADDR]);
	if (session_state(st) != NULL)
	{
		values[COL_STATE] = CStringGetTextDatum(session_state(st));
		nulls[COL_STATE] = false;
	}
	set_timestamp(values, nulls, COL_BACKEND_START,
				  st->st_proc_start_timestamp);
	set_timestamp(values, nulls, COL_XACT_START, st->st_xact_start_timestamp);
	set_timestamp(values, nulls, COL_QUERY_START,
				  st->st_activity_start_timestamp);

	/*
	 * Wait events live in PGPROC, read live as pg_stat_activity does -- from
	 * the session's own PGPROC, found when it was listed, while it still
	 * belongs to the session.
	 */
	proc = s->proc;
	if (dbreset_proc_is_live(proc, s->pid))
	{
		volatile uint32 *infop = &proc->wait_event_info;
		uint32		wait_event_info = *infop;
		const char *type = pgstat_get_wait_event_type(wait_event_info);
		const char *event = pgstat_get_wait_event(wait_event_info);

		if (type != NULL)
		{
			values[COL_WAIT_EVENT_TYPE] = CStringGetTextDatum(type);
			nulls[COL_WAIT_EVENT_TYPE] = false;
		}
		if (event != NULL)
		{
			values[COL_WAIT_EVENT] = CStringGetTextDatum(event);
			nulls[COL_WAIT_EVENT] = false;
		}
	}

	if (st->st_activity_raw)
	{
		char	   *query = pgstat_clip_activity(st->st_activity_raw);

		values[COL_QUERY] = CStringGetTextDatum(query);
		nulls[COL_QUERY] = false;
	}
}

/*
 * dbreset.sessions(dbname name DEFAULT NULL) RETURNS TABLE (...)
 *
 *		The sessions connected to dbname (NULL: to any database) other than
 *		the caller's, read live.  A database that does not exist is 3D000.
 *		Open to everyone, like pg_stat_activity, with the same visibility
 *		rule for private columns.
 */
Datum
dbreset_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			dbid = InvalidOid;
	DbresetSession *sessions;
	int			nsessions;
	MemoryContext rowcontext;
	int			i;

	if (!PG_ARGISNULL(0))
		dbid = get_database_oid(dbreset_get_dbname_arg(fcinfo, 0), false);

	dbreset_init_materialized_srf(fcinfo);

	sessions = dbreset_collect_sessions(dbid, &nsessions);
	rowcontext = AllocSetContextCreate(CurrentMemoryContext,
									   "dbreset row", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < nsessions; i++)
	{
		Datum		values[NUM_SESSION_COLS];
		bool		nulls[NUM_SESSION_COLS];
		MemoryContext oldcontext = MemoryContextSwitchTo(rowcontext);

		/* 1.0's declaration has no database_state: it is left out */
		session_values(&sessions[i], values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rowcontext);
	}

	return (Datum) 0;
}

/*
 * put_terminated_rows
 *		terminate_sessions()'s rows: each session as it was before the
 *		signal (DbresetEnding.on_checked).
 */
static void
put_terminated_rows(const DbresetSession *sessions, int nsessions, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	static const int cols[] = {COL_PID, COL_USENAME, COL_APPLICATION_NAME,
	COL_CLIENT_ADDR, COL_STATE, COL_QUERY};
	MemoryContext rowcontext;
	int			i;

	rowcontext = AllocSetContextCreate(CurrentMemoryContext,
									   "dbreset row", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < nsessions; i++)
	{
		Datum		full[NUM_SESSION_COLS];
		bool		fullnulls[NUM_SESSION_COLS];
		Datum		values[lengthof(cols)];
		bool		nulls[lengthof(cols)];
		MemoryContext oldcontext = MemoryContextSwitchTo(rowcontext);
		int			c;

		session_values(&sessions[i], full, fullnulls);
		for (c = 0; c < (int) lengthof(cols); c++)
		{
			values[c] = full[cols[c]];
			nulls[c] = fullnulls[cols[c]];
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rowcontext);
	}
	MemoryContextDelete(rowcontext);
}

/*
 * dbreset.terminate_sessions(dbname name, timeout interval DEFAULT '5s',
 *							  grace interval DEFAULT '0')
 *		RETURNS TABLE (pid int, usename name, application_name text,
 *					   client_addr inet, state text, query text)
 *
 *		Terminate every other session on dbname and wait until they are
 *		gone; one row per terminated session, as it was before the signal.
 *		Permission is checked for all sessions before any is signalled.
 *		Sessions still there after the timeout: 55006 naming them.
 *		Runs in the caller's own backend: it drops nothing.
 *
 *		With a grace, sessions inside a transaction get that long to finish
 *		it, and the database's lock is held meanwhile (AccessExclusiveLock,
 *		taken within the timeout) so that no new session arrives to be
 *		waited for; it is let go before returning.  Holding connections off
 *		is what ALTER DATABASE's owner may do, so a grace also needs
 *		ownership of the database.  Without one, as in 1.0, nothing is
 *		locked and pg_terminate_backend()'s rules are all there is.  A
 *		standby cannot take that lock: a grace is refused there (25006).
 */
Datum
dbreset_terminate_sessions(PG_FUNCTION_ARGS)
{
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	DbresetEnding ending;
	Oid			dbid;

	memset(&ending, 0, sizeof(ending));
	ending.timeout_ms = dbreset_get_timeout_arg(fcinfo, 1);
	ending.grace_ms = dbreset_get_grace_arg(fcinfo, 2);
	ending.on_checked = put_terminated_rows;
	ending.arg = fcinfo->resultinfo;

	/*
	 * A grace needs the database's lock, which recovery does not let us
	 * take: refused as core refuses LOCK TABLE in that mode on a standby,
	 * before the lock's own error could say it less plainly.
	 */
	if (ending.grace_ms > 0 && RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s during recovery",
						"dbreset.terminate_sessions() with a grace"),
				 errdetail("A grace holds new connections off with the database's lock, which cannot be taken during recovery."),
				 errhint("Without a grace, it terminates the sessions at once, as pg_terminate_backend() does on a standby.")));

	dbreset_init_materialized_srf(fcinfo);

	dbid = dbreset_get_existing_database_oid(dbname, ending.timeout_ms);
	if (ending.grace_ms > 0)
	{
		/* holding connections off is the owner's power (ALTER DATABASE) */
		if (!dbreset_database_ownercheck(dbid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of database %s", dbname),
					 errdetail("With a grace, terminate_sessions() holds new connections off, which only the owner of the database may do.")));
		dbid = dbreset_lock_existing_database(dbname, AccessExclusiveLock,
											  ending.timeout_ms);
	}

	(void) dbreset_end_sessions(dbname, dbid, &ending);
	if (ending.grace_ms > 0)
		UnlockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);

	if (ending.nsessions > 0)
	{
		StringInfoData detail;

		initStringInfo(&detail);
		dbreset_append_drain_detail(&detail, &ending);
		ereport(LOG,
				(errmsg_plural("role \"%s\" terminated %d session on database \"%s\"",
							   "role \"%s\" terminated %d sessions on database \"%s\"",
							   ending.nsessions,
							   GetUserNameFromId(GetUserId(), false),
							   ending.nsessions, dbname),
				 errdetail_internal("%s", detail.data)));
	}

	return (Datum) 0;
}
