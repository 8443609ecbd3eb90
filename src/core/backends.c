/*-------------------------------------------------------------------------
 *
 * backends.c
 *	  The sessions connected to a database: finding them live, deciding who
 *	  may terminate them, signalling them, giving them a grace, waiting
 *	  until they are gone, describing them for log lines.
 *
 * Sessions are found in the PGPROC array, where DROP DATABASE counts them
 * until they have left the ProcArray (dbreset_proc_is_live); the backend
 * status array only adds detail.  Permissions follow
 * pg_terminate_backend(), or DROP ... WITH (FORCE) for a drop.
 *
 * IDENTIFICATION
 *	  src/core/backends.c
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
#include "core/backends.h"
#include "core/standing.h"

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
	int		   *idle = dbreset_standing_pids(dbid, &nidle);
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

		/* dbreset's standing workers leave when asked (dbreset_standing_evict) */
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
 * dbreset_without_autovacuum
 *		Leave autovacuum workers out of sessions, in place, keeping the
 *		order; returns how many are left.  A copy leaves them to CREATE
 *		DATABASE, which stops them itself.
 */
int
dbreset_without_autovacuum(DbresetSession *sessions, int nsessions)
{
	int			n = 0;
	int			i;

	for (i = 0; i < nsessions; i++)
		if (!sessions[i].is_autovacuum)
			sessions[n++] = sessions[i];
	return n;
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

	/* dbreset's own standing workers, left out of the sessions, leave too */
	dbreset_standing_evict(dbid, timeout_ms);

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
 * session_backend_type
 *		pg_stat_activity's backend_type: the worker's type for background
 *		workers, the backend type's description otherwise.
 */
const char *
dbreset_session_backend_type(const DbresetSession *s)
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
	const char *backend_type = dbreset_session_backend_type(session);

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

