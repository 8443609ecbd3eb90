/*-------------------------------------------------------------------------
 *
 * sessions.c
 *	  Sessions connected to a database: listing them live, deciding who may
 *	  terminate them, terminating them and waiting until they are gone.
 *
 * DROP DATABASE counts a backend as long as it is in the ProcArray, which it
 * leaves late on its way out, after its pg_stat_activity entry is cleared.
 * The ProcArray itself is private to procarray.c, so sessions are found in
 * the PGPROC array: a PGPROC whose latch is owned by its pid belongs to a
 * live process, from before it enters the ProcArray until just after it
 * has left it (dbreset_proc_is_live).  The backend status array only adds
 * detail.  Both are read afresh on every call, never from the
 * per-transaction snapshot that pg_stat_activity keeps.
 *
 * Permissions mirror the core statement each function stands for:
 * terminate_sessions() and sessions().can_terminate follow
 * pg_terminate_backend(), force_drop_database() follows DROP DATABASE ...
 * WITH (FORCE) (dbreset_terminate_check).
 *
 * IDENTIFICATION
 *	  src/sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "common/ip.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_sessions);
PG_FUNCTION_INFO_V1(dbreset_terminate_sessions);

/* Longest sleep between two looks at the ProcArray while waiting */
#define DBRESET_POLL_MS			1

/*
 * session_pid_cmp
 *		qsort/bsearch comparator of pointers to sessions, by pid.
 */
static int
session_pid_cmp(const void *a, const void *b)
{
	int			pa = (*(DbresetSession *const *) a)->pid;
	int			pb = (*(DbresetSession *const *) b)->pid;

	return (pa > pb) - (pa < pb);
}

/*
 * dbreset_collect_sessions
 *		Return the sessions connected to database dbid (InvalidOid: to any
 *		database), except our own, as a palloc'd array.
 *
 *		One pass over all PGPROCs under ProcArrayLock (shared), O(1) work
 *		each: dbreset.sessions() is open to everyone, so the time it holds
 *		the lock must stay linear in the number of processes.  Prepared
 *		transactions (pid 0) are not sessions and are left out.
 */
DbresetSession *
dbreset_collect_sessions(Oid dbid, int *nsessions)
{
	int			nprocs = ProcGlobal->allProcCount;
	DbresetSession *sessions = palloc(sizeof(DbresetSession) * Max(nprocs, 1));
	int			n = 0;
	int			nbackends;
	int			nidle;
	int		   *idle = dbreset_pool_idle_pids(dbid, &nidle);
	int			i;

	/* forget this transaction's backend status snapshot: we want it now */
	dbreset_clear_backend_status_snapshot();

	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (i = 0; i < nprocs; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			pid = proc->pid;
		Oid			procdb = proc->databaseId;
		int			j;

		if (pid == MyProcPid || !OidIsValid(procdb))
			continue;
		if (OidIsValid(dbid) && procdb != dbid)
			continue;
		if (!dbreset_proc_is_live(proc, pid))
			continue;

		/* dbreset's idle workers leave when asked (dbreset_pool_evict) */
		for (j = 0; j < nidle && idle[j] != pid; j++)
			;
		if (j < nidle)
			continue;

		sessions[n].proc = proc;
		sessions[n].pid = pid;
		sessions[n].databaseId = procdb;
		sessions[n].roleId = proc->roleId;
		sessions[n].is_autovacuum = dbreset_proc_is_autovacuum(proc);
		sessions[n].status = NULL;
		n++;
	}
	LWLockRelease(ProcArrayLock);

	/*
	 * Attach backend status entries, read after the ProcArray: a sort of
	 * the pids and a binary search per entry keep this O(n log n).
	 */
	nbackends = n > 0 ? pgstat_fetch_stat_numbackends() : 0;
	if (nbackends > 0)
	{
		DbresetSession **bypid = palloc(sizeof(DbresetSession *) * n);

		for (i = 0; i < n; i++)
			bypid[i] = &sessions[i];
		qsort(bypid, n, sizeof(DbresetSession *), session_pid_cmp);

		for (i = 1; i <= nbackends; i++)
		{
			LocalPgBackendStatus *local = dbreset_local_beentry(i);
			DbresetSession key;
			DbresetSession *keyp = &key;
			DbresetSession **found;

			if (local == NULL)
				continue;
			key.pid = local->backendStatus.st_procpid;
			found = bsearch(&keyp, bypid, n, sizeof(DbresetSession *),
							session_pid_cmp);
			if (found != NULL)
				(*found)->status = &local->backendStatus;
		}
		pfree(bypid);
	}

	*nsessions = n;
	return sessions;
}

/*
 * Outcome of the permission check on one session, as in signalfuncs.c.
 */
typedef enum DbresetTerminateCheck
{
	DBRESET_TERMINATE_OK,
	DBRESET_TERMINATE_NOSUPERUSER,
	DBRESET_TERMINATE_NOAUTOVAC,
	DBRESET_TERMINATE_NOPERMISSION
} DbresetTerminateCheck;

/*
 * dbreset_terminate_check
 *		Whether the current user may terminate this session, by the rules of
 *		the core statement the calling function stands for.
 *
 *		for_drop = false: pg_terminate_backend()'s rules (signalfuncs.c, as
 *		of the November 2023 minors): a process without a role counts as
 *		superuser-owned and needs a superuser -- on 18 an autovacuum worker
 *		needs privileges of pg_signal_autovacuum_worker instead -- and any
 *		other needs privileges of its role or of pg_signal_backend.
 *
 *		for_drop = true: DROP DATABASE ... WITH (FORCE)'s rules
 *		(TerminateOtherDBBackends in procarray.c), which differ in two ways:
 *		a role-less background worker is not superuser-owned, so privileges
 *		of pg_signal_backend suffice; and autovacuum workers are stopped
 *		without a check, as every DROP DATABASE stops them before it counts
 *		the sessions (CountOtherDBBackends).
 */
static DbresetTerminateCheck
dbreset_terminate_check(const DbresetSession *session, bool for_drop)
{
	Oid			me = GetUserId();

	if (for_drop)
	{
		if (session->is_autovacuum)
			return DBRESET_TERMINATE_OK;
		if (superuser_arg(session->roleId) && !superuser())
			return DBRESET_TERMINATE_NOSUPERUSER;
	}
	else if (!OidIsValid(session->roleId) || superuser_arg(session->roleId))
	{
		if (session->is_autovacuum && dbreset_autovacuum_needs_role())
			return dbreset_may_signal_autovacuum(me) ?
				DBRESET_TERMINATE_OK : DBRESET_TERMINATE_NOAUTOVAC;
		if (!superuser())
			return DBRESET_TERMINATE_NOSUPERUSER;
	}

	/* has_privs_of_role() is false for InvalidOid, but for a superuser */
	if (!has_privs_of_role(me, session->roleId) &&
		!has_privs_of_role(me, ROLE_PG_SIGNAL_BACKEND))
		return DBRESET_TERMINATE_NOPERMISSION;

	return DBRESET_TERMINATE_OK;
}

/*
 * dbreset_may_terminate
 *		Whether the current user may terminate this session with
 *		pg_terminate_backend() (or terminate_sessions()).
 */
bool
dbreset_may_terminate(const DbresetSession *session)
{
	return dbreset_terminate_check(session, false) == DBRESET_TERMINATE_OK;
}

/*
 * dbreset_terminate_refusal
 *		NULL if the current user may terminate this session by the rules of
 *		for_drop (as in dbreset_terminate_check), else why not, in a few
 *		words for drop_blockers().
 */
const char *
dbreset_terminate_refusal(const DbresetSession *session, bool for_drop)
{
	switch (dbreset_terminate_check(session, for_drop))
	{
		case DBRESET_TERMINATE_OK:
			return NULL;
		case DBRESET_TERMINATE_NOAUTOVAC:
			return psprintf(_("an autovacuum worker: only roles with privileges of the \"%s\" role may terminate it"),
							"pg_signal_autovacuum_worker");
		case DBRESET_TERMINATE_NOSUPERUSER:
			if (session->is_autovacuum)
				return psprintf(_("an autovacuum worker: only roles with the %s attribute may terminate it"),
								"SUPERUSER");
			if (!OidIsValid(session->roleId))
				return psprintf(_("a background process without a role: only roles with the %s attribute may terminate it"),
								"SUPERUSER");
			return psprintf(_("a process of a role with the %s attribute: only roles with the %s attribute may terminate it"),
							"SUPERUSER", "SUPERUSER");
		case DBRESET_TERMINATE_NOPERMISSION:
			return psprintf(_("only roles with privileges of the session's role or of the \"%s\" role may terminate it"),
							"pg_signal_backend");
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * dbreset_check_terminate_all
 *		Raise 42501 for the first session the current user may not
 *		terminate, naming its pid and role.  Called before any session is
 *		signalled, so a refusal leaves every session alone.  for_drop as in
 *		dbreset_terminate_check.
 */
void
dbreset_check_terminate_all(const DbresetSession *sessions, int nsessions,
							bool for_drop)
{
	int			i;

	for (i = 0; i < nsessions; i++)
	{
		const DbresetSession *s = &sessions[i];
		DbresetTerminateCheck check = dbreset_terminate_check(s, for_drop);
		char	   *rolename;

		if (check == DBRESET_TERMINATE_OK)
			continue;

		if (check == DBRESET_TERMINATE_NOAUTOVAC)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate autovacuum worker %d",
							s->pid),
					 errdetail("Only roles with privileges of the \"%s\" role may terminate autovacuum workers. No session was terminated.",
							   "pg_signal_autovacuum_worker")));

		if (s->is_autovacuum && check == DBRESET_TERMINATE_NOSUPERUSER)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate autovacuum worker %d",
							s->pid),
					 errdetail("Only roles with the %s attribute may terminate autovacuum workers. No session was terminated.",
							   "SUPERUSER")));

		if (!OidIsValid(s->roleId) && check == DBRESET_TERMINATE_NOSUPERUSER)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate background process %d",
							s->pid),
					 errdetail("The process has no role. Only roles with the %s attribute may terminate it. No session was terminated.",
							   "SUPERUSER")));

		if (!OidIsValid(s->roleId))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate background process %d",
							s->pid),
					 errdetail("The process has no role. Only roles with the %s attribute or with privileges of the \"%s\" role may terminate it. No session was terminated.",
							   "SUPERUSER", "pg_signal_backend")));

		/* a role dropped since the session started is shown by its OID */
		rolename = GetUserNameFromId(s->roleId, true);
		if (rolename == NULL)
			rolename = psprintf("%u", s->roleId);

		if (check == DBRESET_TERMINATE_NOSUPERUSER)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate process %d of role \"%s\"",
							s->pid, rolename),
					 errdetail("Only roles with the %s attribute may terminate processes of roles with the %s attribute. No session was terminated.",
							   "SUPERUSER", "SUPERUSER")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to terminate process %d of role \"%s\"",
							s->pid, rolename),
					 errdetail("Only roles with privileges of the role whose process is being terminated or with privileges of the \"%s\" role may terminate this process. No session was terminated.",
							   "pg_signal_backend")));
	}
}

/*
 * dbreset_signal_sessions
 *		Send SIGTERM to every session still there, to its whole process
 *		group as core does, without waiting.
 *
 *		A session is signalled only while its PGPROC still belongs to its
 *		pid (dbreset_proc_is_live), so a pid reused by an unrelated process
 *		after the session exited is never signalled.  No lock is taken: the
 *		first sessions to exit need ProcArrayLock exclusively to leave.
 */
void
dbreset_signal_sessions(const DbresetSession *sessions, int nsessions)
{
	int			i;

	for (i = 0; i < nsessions; i++)
	{
		if (!dbreset_proc_is_live(sessions[i].proc, sessions[i].pid))
			continue;			/* already gone */
#ifdef WIN32
		(void) kill(sessions[i].pid, SIGTERM);
#else
		(void) kill(-sessions[i].pid, SIGTERM);
#endif
	}
}

/*
 * poll_pause
 *		One pause of a polling loop: sleep until something sets our latch,
 *		DBRESET_POLL_MS pass or the deadline comes, then check for
 *		interrupts.  Returns false, at once, if the deadline has passed.
 */
static bool
poll_pause(TimestampTz deadline)
{
	long		sleep_ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);

	if (sleep_ms <= 0)
		return false;
	(void) WaitLatch(MyLatch,
					 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Min(sleep_ms, DBRESET_POLL_MS),
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * client_is_idle
 *		Whether a client backend waits for its client's next command,
 *		outside any transaction: the wait event ClientRead, read before and
 *		after a local transaction ID that is not set.
 *
 *		PGPROC's local transaction ID is set when a transaction starts and
 *		cleared when it ends, on every major, whatever track_activities
 *		says -- but it is cleared inside COMMIT, before the client has heard
 *		of the commit: a signal then would cut the answer off, and the
 *		client could not tell whether its COMMIT took.  A backend reports
 *		ClientRead only while it is blocked reading from its client, which
 *		it does once its ReadyForQuery has been flushed.  Reading the wait
 *		event on both sides of the transaction ID keeps a session that
 *		starts a transaction in between from passing for idle.  Lock-free
 *		reads of 4-byte fields, as pg_stat_activity's.
 */
static bool
client_is_idle(const DbresetSession *s)
{
	uint32		before = ((volatile PGPROC *) s->proc)->wait_event_info;
	LocalTransactionId lxid;
	uint32		after;

	pg_read_barrier();
	lxid = dbreset_proc_lxid((volatile PGPROC *) s->proc);
	pg_read_barrier();
	after = ((volatile PGPROC *) s->proc)->wait_event_info;

	return before == WAIT_EVENT_CLIENT_READ &&
		after == WAIT_EVENT_CLIENT_READ &&
		lxid == InvalidLocalTransactionId;
}

/*
 * tracks_waits
 *		Whether the session reports its wait events: not on 13 in a session
 *		that turned track_activities off, which reports no state either.
 *		For client backends; read from the backend status snapshot.
 */
static bool
tracks_waits(const DbresetSession *s)
{
	return s->status != NULL && s->status->st_state != STATE_DISABLED;
}

/*
 * is_client
 *		Whether the session is a client backend, which answers a client.
 */
static bool
is_client(const DbresetSession *s)
{
	return s->status != NULL && s->status->st_backendType == B_BACKEND;
}

/*
 * transaction_done
 *		Whether a session given a grace is done with what it was doing, so
 *		that terminating it now loses nothing it did: it has exited; or,
 *		for a client backend, it waits for its client's next command
 *		outside any transaction (client_is_idle); or, for any other
 *		process -- or a client backend on 13 with track_activities off --
 *		its local transaction ID is no longer "initial", the one it ran
 *		when the drain began.  A session that starts its next transaction
 *		at once is caught at its next pause, or when the grace runs out.
 */
static bool
transaction_done(const DbresetSession *s, LocalTransactionId initial)
{
	if (!dbreset_proc_is_live(s->proc, s->pid))
		return true;
	if (is_client(s) && tracks_waits(s))
		return client_is_idle(s);
	return dbreset_proc_lxid(s->proc) != initial;
}

/*
 * dbreset_drain_sessions
 *		Terminate sessions, giving the work they have in flight up to
 *		grace_ms to finish first: a session between transactions (idle) is
 *		signalled at once; one inside a transaction -- running a query, or
 *		idle in a transaction block, or still answering its COMMIT -- is
 *		signalled as soon as it is done with it (transaction_done), or when
 *		the grace runs out.
 *		With no grace, this is dbreset_signal_sessions().  Returns how many
 *		finished their transaction (or exited) on their own within the
 *		grace.  Autovacuum workers get no grace: DROP DATABASE stops them
 *		anyway.  The caller holds the lock that keeps new sessions out, so
 *		nobody new arrives meanwhile.
 */
int
dbreset_drain_sessions(const DbresetSession *sessions, int nsessions,
					   int grace_ms)
{
	LocalTransactionId *lxids;
	bool	   *pending;
	int			npending = 0;
	int			nfinished = 0;
	TimestampTz deadline;
	int			i;

	if (grace_ms <= 0 || nsessions == 0)
	{
		dbreset_signal_sessions(sessions, nsessions);
		return 0;
	}

	lxids = palloc(sizeof(LocalTransactionId) * nsessions);
	pending = palloc0(sizeof(bool) * nsessions);
	for (i = 0; i < nsessions; i++)
	{
		const DbresetSession *s = &sessions[i];

		lxids[i] = dbreset_proc_lxid(s->proc);
		if (s->is_autovacuum ||
			(is_client(s) && tracks_waits(s) ? client_is_idle(s) :
			 lxids[i] == InvalidLocalTransactionId))
			dbreset_signal_sessions(s, 1);
		else
		{
			pending[i] = true;
			npending++;
		}
	}

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), grace_ms);
	while (npending > 0)
	{
		for (i = 0; i < nsessions; i++)
		{
			const DbresetSession *s = &sessions[i];

			if (!pending[i] || !transaction_done(s, lxids[i]))
				continue;
			/* done with its transaction (or gone): terminate now */
			dbreset_signal_sessions(s, 1);
			pending[i] = false;
			npending--;
			nfinished++;
		}
		if (npending == 0 || !poll_pause(deadline))
			break;
	}

	/* the grace is over: the rest are terminated in the middle of it */
	for (i = 0; i < nsessions; i++)
		if (pending[i])
			dbreset_signal_sessions(&sessions[i], 1);

	pfree(lxids);
	pfree(pending);
	return nfinished;
}

/*
 * dbreset_wait_for_exit
 *		Wait until every listed session has left, or until timeout_ms has
 *		passed.  Returns how many are still there; their pids go to
 *		*remaining.
 *
 *		A backend that exits does not tell anyone, so we look again after
 *		short latch waits (DBRESET_POLL_MS) rather than core's 100 ms
 *		sleeps: the wait ends within about a millisecond of the last exit.
 *		Each look is O(1) per session and takes no lock.  The latch wait
 *		keeps us responsive to cancel and to postmaster death.
 */
int
dbreset_wait_for_exit(Oid dbid, const DbresetSession *sessions,
					  int nsessions, int timeout_ms, int **remaining)
{
	TimestampTz deadline;
	bool	   *gone = palloc0(sizeof(bool) * Max(nsessions, 1));
	int			left;
	int			i;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	*remaining = NULL;

	/* dbreset's own idle workers, left out of the sessions, leave too */
	dbreset_pool_evict(dbid, timeout_ms);

	for (;;)
	{
		left = 0;
		for (i = 0; i < nsessions; i++)
		{
			const DbresetSession *s = &sessions[i];

			if (gone[i])
				continue;
			if (!dbreset_proc_is_live(s->proc, s->pid) ||
				s->proc->databaseId != dbid)
				gone[i] = true;
			else
				left++;
		}
		if (left == 0)
			break;

		if (!poll_pause(deadline))
		{
			int			k = 0;

			*remaining = palloc(sizeof(int) * left);
			for (i = 0; i < nsessions; i++)
				if (!gone[i])
					(*remaining)[k++] = sessions[i].pid;
			break;
		}
	}

	pfree(gone);
	return left;
}

/*
 * dbreset_report_timeout
 *		Raise 55006 for sessions that outlived the timeout, naming their
 *		pids.  They were sent the signal to terminate; "undone" says what
 *		the caller was about to do and did not ("The database was not
 *		dropped."), NULL when it was only terminating the sessions.
 */
void
dbreset_report_timeout(const char *dbname, const int *pids, int npids,
					   int timeout_ms, const char *undone)
{
	StringInfoData list;
	int			i;

	initStringInfo(&list);
	for (i = 0; i < npids; i++)
		appendStringInfo(&list, "%s%d", i > 0 ? ", " : "", pids[i]);

	if (undone != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("sessions on database \"%s\" did not exit within %d ms",
						dbname, timeout_ms),
				 errdetail_plural("Process %s was sent the signal to terminate but is still connected. %s",
								  "Processes %s were sent the signal to terminate but are still connected. %s",
								  npids, list.data, undone)));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("sessions on database \"%s\" did not exit within %d ms",
					dbname, timeout_ms),
			 errdetail_plural("Process %s was sent the signal to terminate but is still connected. It may still exit.",
							  "Processes %s were sent the signal to terminate but are still connected. They may still exit.",
							  npids, list.data)));
}

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
 * session_backend_type
 *		pg_stat_activity's backend_type: the worker's type for background
 *		workers, the backend type's description otherwise.
 */
static const char *
session_backend_type(const DbresetSession *s)
{
	if (s->status == NULL)
		return s->is_autovacuum ? "autovacuum worker" : NULL;
	if (s->status->st_backendType == B_BG_WORKER)
	{
		const char *bgw_type = GetBackgroundWorkerTypeByPid(s->pid);

		if (bgw_type != NULL)
			return bgw_type;
	}
	return dbreset_backend_type_desc(s->status->st_backendType);
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
	const char *backend_type = session_backend_type(s);
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
		dbid = get_database_oid(NameStr(*PG_GETARG_NAME(0)), false);

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
 * dbreset_describe_session_owner
 *		Append "user alice, application psql" for one session: its role
 *		("-" for none) and its application_name, or its backend type when it
 *		has none.  drop_blockers() groups sessions by this text.
 */
void
dbreset_describe_session_owner(StringInfo buf, const DbresetSession *session)
{
	char	   *usename = OidIsValid(session->roleId) ?
		GetUserNameFromId(session->roleId, true) : NULL;
	const char *backend_type = session_backend_type(session);

	appendStringInfo(buf, "user %s, application %s",
					 usename ? usename : "-",
					 session->status && session->status->st_appname &&
					 session->status->st_appname[0] ?
					 session->status->st_appname :
					 backend_type ? backend_type : "-");
}

/*
 * dbreset_describe_sessions
 *		Append "pid 123 (user alice, application psql), ..." for log lines.
 */
void
dbreset_describe_sessions(StringInfo buf, const DbresetSession *sessions,
						  int nsessions)
{
	int			i;

	for (i = 0; i < nsessions; i++)
	{
		appendStringInfo(buf, "%spid %d (", i > 0 ? ", " : "",
						 sessions[i].pid);
		dbreset_describe_session_owner(buf, &sessions[i]);
		appendStringInfoChar(buf, ')');
	}
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
 *		locked and pg_terminate_backend()'s rules are all there is.
 */
Datum
dbreset_terminate_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 1);
	int			grace_ms = dbreset_get_grace_arg(fcinfo, 2);
	Oid			dbid;
	DbresetSession *sessions;
	int			nsessions;
	int		   *remaining;
	int			nremaining;
	int			nfinished;
	MemoryContext rowcontext;
	int			i;

	dbreset_init_materialized_srf(fcinfo);

	if (grace_ms > 0)
	{
		/* holding connections off is the owner's power (ALTER DATABASE) */
		dbid = get_database_oid(dbname, false);
		if (!dbreset_database_ownercheck(dbid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of database %s", dbname),
					 errdetail("With a grace, terminate_sessions() holds new connections off, which only the owner of the database may do.")));
		dbid = dbreset_lock_existing_database(dbname, AccessExclusiveLock,
											  timeout_ms);
	}
	else
		dbid = get_database_oid(dbname, false);

	sessions = dbreset_collect_sessions(dbid, &nsessions);
	dbreset_check_terminate_all(sessions, nsessions, false);
	rowcontext = AllocSetContextCreate(CurrentMemoryContext,
									   "dbreset row", ALLOCSET_SMALL_SIZES);

	/* rows describe the sessions as they were before the signal */
	for (i = 0; i < nsessions; i++)
	{
		Datum		full[NUM_SESSION_COLS];
		bool		fullnulls[NUM_SESSION_COLS];
		static const int cols[] = {COL_PID, COL_USENAME,
			COL_APPLICATION_NAME, COL_CLIENT_ADDR, COL_STATE, COL_QUERY};
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

	nfinished = dbreset_drain_sessions(sessions, nsessions, grace_ms);
	nremaining = dbreset_wait_for_exit(dbid, sessions, nsessions, timeout_ms,
									   &remaining);
	if (nremaining > 0)
		dbreset_report_timeout(dbname, remaining, nremaining, timeout_ms,
							   NULL);
	if (grace_ms > 0)
		UnlockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);

	if (nsessions > 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		dbreset_describe_sessions(&buf, sessions, nsessions);
		if (grace_ms > 0)
			appendStringInfo(&buf, ". %d of %d finished their transaction within the grace of %d ms",
							 nfinished, nsessions, grace_ms);
		ereport(LOG,
				(errmsg_plural("role \"%s\" terminated %d session on database \"%s\"",
							   "role \"%s\" terminated %d sessions on database \"%s\"",
							   nsessions,
							   GetUserNameFromId(GetUserId(), false),
							   nsessions, dbname),
				 errdetail_internal("Terminated: %s.", buf.data)));
	}

	return (Datum) 0;
}
