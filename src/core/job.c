/*-------------------------------------------------------------------------
 *
 * job.c
 *	  Run a job in a background worker, in its own top-level transaction,
 *	  with the caller's identity, and bring its result and its errors back.
 *
 * The caller's side (start, lock hand-off, release, finish, cancel) and
 * the worker's side (connect, wait, run, commit, report) of one protocol
 * over a DSM segment and a shm_mq, as parallel.c keeps the leader's and
 * the worker's halves together.  Jobs are found by the name of their
 * DbresetJob (DBRESET_JOB), so this file names no command.  The life of a
 * call, the point of no return and the lock group: src/README.md.
 *
 * IDENTIFICATION
 *	  src/core/job.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "compat.h"
#include "base/dblock.h"
#include "core/backends.h"
#include "core/job.h"
#include "core/standing.h"

/* Magic number identifying dbreset's DSM segments */
#define DBRESET_SHM_MAGIC		0x64627273

/* shm_toc keys */
#define DBRESET_KEY_HEADER		1
#define DBRESET_KEY_ARGS		2
#define DBRESET_KEY_MQ			3

/* Queue size: errors, notices and a small result */
#define DBRESET_MQ_SIZE			16384

/* Message type of a job's result */
#define DBRESET_MSG_RESULT		'r'

/* Message type of the answer to a lock request: the database's OID */
#define DBRESET_MSG_LOCKED		'l'

/* Values of DbresetJobHeader.state */
#define DBRESET_STATE_WAITING	0	/* worker must wait for the release */
#define DBRESET_STATE_RELEASED	1	/* worker may run the job */
#define DBRESET_STATE_CANCELLED 2	/* caller gave up; worker must stop */
#define DBRESET_STATE_COMMITTING 3	/* past the point of no return */
#define DBRESET_STATE_ABANDONED 4	/* caller gave up past that point:
									 * worker finishes the step, then stops */
#define DBRESET_STATE_LOCKING	5	/* worker must take the requested lock,
									 * answer, and wait again */
#define DBRESET_STATE_DONE		6	/* worker has committed and is done
									 * with the job: nothing to stop */

/*
 * The fixed part of a job's DSM segment, written by the caller before the
 * worker starts; only "state" changes afterwards, atomically, by both.
 */
typedef struct DbresetJobHeader
{
	pg_atomic_uint32 state;
	NameData	job_symbol;		/* the DbresetJob, found by its name */
	Oid			database_id;	/* caller's database, where the worker
								 * connects */
	Oid			authenticated_user_id;	/* who the worker connects as */
	int			caller_procno;	/* caller's PGPROC */
	int			caller_pid;
	bool		join_lock_group;	/* the caller's: a helper connected to
									 * a database its caller holds locked */
	Oid			current_user_id;	/* who the job runs as */
	int			sec_context;
	int			caller_encoding;	/* for the messages sent to the caller */
	/* a lock request (DBRESET_STATE_LOCKING) */
	NameData	lock_dbname;
	Oid			lock_dbid;
	int			lock_mode;
	int			lock_timeout_ms;
	Size		args_len;
} DbresetJobHeader;

/* How often a worker waiting for its release checks that its caller lives */
#define DBRESET_LEADER_CHECK_MS 1000

/*
 * How often a caller looks whether a standing worker has let go of a job:
 * after 1 ms, then twice as long each time, up to 64 ms
 */
#define DBRESET_STANDING_POLL_MS 1
#define DBRESET_STANDING_POLL_MAX_MS 64

/* Caller side: a job started by dbreset_job_start() */
struct DbresetJobHandle
{
	dsm_segment *seg;
	DbresetJobHeader *hdr;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorkerHandle *handle; /* a worker started for the job: in
									 * TopMemoryContext */
	PGPROC	   *worker_proc;	/* a standing worker: its PGPROC, pid */
	int			worker_pid;
	bool		active;			/* the worker is not let go of yet */
	char	   *description;	/* what the job does, for messages */
	char	   *args;			/* in the segment */
	bool		locking;		/* waiting for a lock request's answer */
	bool		finished;		/* worker done: result received (segment
								 * let go) or error relayed */
};

/* Worker side: the header of the job this process runs, and its queue */
static DbresetJobHeader *MyJobHeader = NULL;
static shm_mq_handle *MyJobQueue = NULL;

/* Worker side: whether the job's transaction has begun (a lock request) */
static bool MyJobInTransaction = false;

/* Worker side: who we connected as, what we go back to between jobs */
static Oid	MyLoginUserId = InvalidOid;
static int	MyLoginSecContext = 0;

/*
 * Worker side: shared-object locks the job holds across its transactions
 * (dbreset_job_hold_lock), released after the last commit.  In
 * TopMemoryContext: they outlive every transaction of the job.
 */
typedef struct DbresetSessionLock
{
	Oid			classid;
	Oid			objid;
	uint16		objsubid;
	LOCKMODE	mode;
} DbresetSessionLock;
static List *MySessionLocks = NIL;

PGDLLEXPORT void dbreset_worker_main(Datum main_arg);

static DbresetJobHandle *job_start(Oid database_id, bool join_lock_group,
								   const DbresetJob *kind, const void *args,
								   Size args_len, const char *description);
static void worker_exit_quietly(void);
static bool leave_committing_state(void);
static void release_session_locks(void);

/*
 * lookup_job
 *		The job whose DbresetJob object is named symbol, found in this
 *		library as parallel.c's LookupParallelWorkerFunction() finds a
 *		worker's entry point: symbols travel through shared memory, not
 *		pointers, which differ between processes under EXEC_BACKEND.  The
 *		job core so names no command: a command defines its jobs with
 *		DBRESET_JOB() (job.h).
 *
 *		The library is found by name once, for the first job, before the
 *		worker connects; later jobs of a standing worker are looked up in
 *		that handle, so that settings it read when it connected
 *		(dynamic_library_path) do not decide where its own code is.
 */
static const DbresetJob *
lookup_job(const char *symbol)
{
	static void *library = NULL;
	const DbresetJob *job;

	if (library == NULL)
		job = (const DbresetJob *)
			load_external_function(MyBgworkerEntry->bgw_library_name, symbol,
								   true, &library);
	else
		job = (const DbresetJob *) lookup_external_function(library, symbol);
	if (job == NULL || strcmp(job->symbol, symbol) != 0)
		elog(ERROR, "dbreset job \"%s\" not found", symbol);
	return job;
}

/*
 * worker_gone
 *		Whether the job's worker has exited (or, started for the job, can
 *		never start).
 */
static bool
worker_gone(DbresetJobHandle *job)
{
	pid_t		pid;
	BgwHandleStatus status;

	if (job->handle == NULL)
		return !dbreset_proc_is_live(job->worker_proc, job->worker_pid);
	status = GetBackgroundWorkerPid(job->handle, &pid);
	return status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED;
}

/*
 * worker_done
 *		Whether the job's worker is done with it: exited, or -- unless it is
 *		a helper in our lock group, which must exit -- committed and free
 *		for the next job (a standing worker).
 */
static bool
worker_done(DbresetJobHandle *job)
{
	if (!job->hdr->join_lock_group &&
		pg_atomic_read_u32(&job->hdr->state) == DBRESET_STATE_DONE)
		return true;
	return worker_gone(job);
}

/*
 * wait_for_worker
 *		Wait until the job's worker has exited -- or, with done_is_enough,
 *		is done with the job (worker_done) -- so that nothing this session
 *		runs next can overlap with the job, and so that a helper in our
 *		lock group never outlives us, its leader: when the leader has gone
 *		first, the last member's ProcKill() returns the leader's PGPROC but
 *		never its own, on every major, and that background worker slot is
 *		lost until the server restarts.  Core's parallel query always waits
 *		for its workers; so does every dbreset call.  For a worker started
 *		for the job the postmaster sets our latch when it exits
 *		(bgw_notify_pid); a standing worker is looked at every
 *		DBRESET_STANDING_POLL_MS.
 *
 *		No interrupt is processed meanwhile, not even termination: a worker
 *		past its point of no return finishes its DROP, one that is not has
 *		been told to stop, and either way the caller's cancel or
 *		termination is acted on once it is done.  Also used by a caller
 *		that is already exiting.  The ProcSignalBarrier that a DROP DATABASE
 *		in the worker waits for on 15+ is still absorbed, or the two would
 *		wait for each other.
 */
static void
wait_for_worker(DbresetJobHandle *job, bool done_is_enough)
{
	long		poll_ms = DBRESET_STANDING_POLL_MS;

	while (!(done_is_enough ? worker_done(job) : worker_gone(job)))
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 job->handle != NULL ? DBRESET_LEADER_CHECK_MS :
						 poll_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (ProcSignalBarrierPending)
			ProcessProcSignalBarrier();
		/* a DROP that goes on in the background may take seconds */
		poll_ms = Min(poll_ms * 2, DBRESET_STANDING_POLL_MAX_MS);
	}
}

/*
 * signal_worker
 *		Send the job's worker a cancel interrupt, if it runs.
 */
static void
signal_worker(DbresetJobHandle *job)
{
	pid_t		pid;

	if (job->handle == NULL)
	{
		if (dbreset_proc_is_live(job->worker_proc, job->worker_pid))
			(void) kill(job->worker_pid, SIGINT);
	}
	else if (GetBackgroundWorkerPid(job->handle, &pid) == BGWH_STARTED)
		(void) kill(pid, SIGINT);
}

/*
 * let_go
 *		The job's worker is done with it: let go of its handle.
 */
static void
let_go(DbresetJobHandle *job)
{
	if (job->handle != NULL)
		pfree(job->handle);
	job->handle = NULL;
	job->active = false;
}

/*
 * dbreset_job_cancel
 *		Error cleanup on the caller's side, for PG_ENSURE_ERROR_CLEANUP
 *		around everything between dbreset_job_start() and
 *		dbreset_job_finish(): unless the worker has passed its point of no
 *		return, mark the job cancelled and interrupt the worker, so that its
 *		transaction aborts and nothing is dropped, and wait until it is
 *		done.  Runs for ERROR (cancel, statement_timeout, a refusal, the
 *		worker's own error) and for FATAL (the caller was terminated) alike.
 *		A worker told to stop exits at its next interrupt check; one that
 *		had committed (DBRESET_STATE_DONE) is not interrupted, so that no
 *		stray cancel reaches its next job.
 *
 *		A worker past its point of no return is let finish on its own --
 *		unless it is a helper in our lock group, which must not outlive us:
 *		we return at once, with a WARNING.  It holds the locks that keep
 *		everyone out of the database itself (dbreset_job_hold_lock), so a
 *		later statement of this session waits for them like anyone's, and
 *		nothing of ours can keep it from finishing: the DROP may wait for a
 *		lock of someone else's for as long as that is held.
 */
void
dbreset_job_cancel(int code, Datum arg)
{
	DbresetJobHandle *job = (DbresetJobHandle *) DatumGetPointer(arg);
	bool		abandoned = false;

	(void) code;
	if (!job->active)
		return;

	if (!job->finished && !worker_gone(job))
	{
		uint32		state = pg_atomic_read_u32(&job->hdr->state);

		while (state == DBRESET_STATE_WAITING ||
			   state == DBRESET_STATE_LOCKING ||
			   state == DBRESET_STATE_RELEASED ||
			   state == DBRESET_STATE_COMMITTING)
		{
			if (pg_atomic_compare_exchange_u32(&job->hdr->state, &state,
											   state == DBRESET_STATE_COMMITTING ?
											   DBRESET_STATE_ABANDONED :
											   DBRESET_STATE_CANCELLED))
			{
				/*
				 * A worker not started yet sees the state when it starts; a
				 * running one gets a cancel interrupt, and exits quietly
				 * once it sees the state.  One past its point of no return
				 * is not interrupted: it finishes the step it is in, and
				 * stops at the next (dbreset_job_leave_point_of_no_return).
				 */
				if (state != DBRESET_STATE_COMMITTING)
					signal_worker(job);
				break;
			}
		}

		/*
		 * The DROP has begun: let it finish rather than leave a half-dropped
		 * database, and say so, since the caller is about to report a
		 * failure.  Likewise if the job is done already.
		 */
		abandoned = (state == DBRESET_STATE_COMMITTING ||
					 state == DBRESET_STATE_ABANDONED);
		if (abandoned)
			ereport(WARNING,
					(errmsg("%s continues in the background", job->description),
					 errdetail("It had already begun when the call was interrupted; it cannot be stopped halfway. A background worker finishes it, holding the database locked until then.")));
		else if (state == DBRESET_STATE_DONE)
			ereport(WARNING,
					(errmsg("%s was completed", job->description),
					 errdetail("It had been committed when the call was interrupted.")));
	}

	/* nobody reads the queue any more: a worker must not block on it */
	shm_mq_detach(job->mqh);
	job->mqh = NULL;

	/*
	 * Otherwise wait, a terminated caller too: a helper in our lock group
	 * must not outlive us, and no worker of a failed call may still hold
	 * locks of ours, or the caller's own, when the session goes on.
	 */
	if (!abandoned || job->hdr->join_lock_group)
		wait_for_worker(job, true);
	if (proc_exit_inprogress)
		return;
	let_go(job);
}

/*
 * dbreset_job_abandon
 *		Give up a job that was never released, without an error: a call
 *		that finds nothing to do once its worker holds the lock (the
 *		database was dropped meanwhile).  The worker is stopped, as on
 *		error, and the segment let go of.
 */
void
dbreset_job_abandon(DbresetJobHandle *job)
{
	dbreset_job_cancel(0, PointerGetDatum(job));
	dsm_detach(job->seg);
}

/*
 * blocking_pids
 *		pg_blocking_pids(pid): the processes that process pid waits for
 *		(0 for a prepared transaction); *n counts them.
 */
static int *
blocking_pids(int pid, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
															 Int32GetDatum(pid)));
	Datum	   *elems;
	bool	   *nulls;
	int		   *pids;
	int			i;

	deconstruct_array(arr, INT4OID, sizeof(int32), true, 'i', &elems, &nulls,
					  n);
	pids = palloc(sizeof(int) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		pids[i] = DatumGetInt32(elems[i]);
	return pids;
}

/*
 * check_lock_deadlock
 *		Caller side, while the worker waits for a lock we asked it to take
 *		(dbreset_job_take_lock): raise a deadlock, as the detector would,
 *		if the worker waits for us, or for a process that itself waits for
 *		a lock of ours (a query of ours holding a table that process wants,
 *		say).  The detector cannot see it: we wait on a latch, not a lock.
 */
static void
check_lock_deadlock(DbresetJobHandle *job)
{
	pid_t		worker_pid = job->worker_pid;
	int		   *pids;
	int			n;
	int			i;

	if (job->handle != NULL &&
		GetBackgroundWorkerPid(job->handle, &worker_pid) != BGWH_STARTED)
		return;
	pids = blocking_pids(worker_pid, &n);
	for (i = 0; i < n; i++)
	{
		int		   *next;
		int			m;
		int			j;
		bool		found = (pids[i] == MyProcPid);

		if (pids[i] == 0)
			continue;
		next = found ? NULL : blocking_pids(pids[i], &m);
		for (j = 0; !found && j < m; j++)
			found = (next[j] == MyProcPid);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
					 errmsg("deadlock detected"),
					 errdetail("The background worker of this call, process %d, waits for a lock on database \"%s\" that process %d holds, which waits for a lock this session holds.",
							   (int) worker_pid,
							   NameStr(job->hdr->lock_dbname), pids[i]),
					 errhint("Run the call in a transaction of its own, holding no other locks.")));
	}
}

/*
 * relay_error_notice
 *		Raise in the caller a worker's error or notice, with SQLSTATE,
 *		detail and hint intact, as parallel query does.  The worker's error
 *		ends the job: it exits, and its transaction aborts whatever state
 *		it had reached, so the error cleanup has nothing to stop or to warn
 *		of.  A worker's FATAL is the caller's ERROR.  The context says where
 *		it came from -- unless it is about the lock the caller handed over,
 *		which the caller would have raised just the same.
 */
static void
relay_error_notice(DbresetJobHandle *job, char msgtype, StringInfo msg)
{
	ErrorData	edata;

	pq_parse_errornotice(msg, &edata);
	if (msgtype == 'E')
		job->finished = true;
	edata.elevel = Min(edata.elevel, ERROR);

	if (job->locking)
		;
	else if (edata.context)
		edata.context = psprintf("%s\n%s", edata.context,
								 _("dbreset background worker"));
	else
		edata.context = pstrdup(_("dbreset background worker"));
	ThrowErrorData(&edata);
}

/*
 * dbreset_receive
 *		Read the worker's messages until its result or the answer to a lock
 *		request arrives, or it detaches: re-throw its notices and its error,
 *		append the answer to reply.  Returns the answer's message type, or
 *		0 if the worker detached without one.
 *
 *		shm_mq_receive() waits on the latch with CHECK_FOR_INTERRUPTS(), so a
 *		cancel reaches us here, and on PostgreSQL 15+ we keep absorbing the
 *		ProcSignalBarrier that the worker's DROP DATABASE waits for.  A
 *		worker started for the job that dies before it attaches to the
 *		queue makes the receive return (shm_mq_set_handle); a standing
 *		worker that dies so is noticed here, looking at its PGPROC between
 *		latch waits.  While the worker takes a lock for us we look without
 *		blocking too, so as to see a deadlock through a lock of ours
 *		(check_lock_deadlock).
 */
static char
dbreset_receive(DbresetJobHandle *job, StringInfo reply)
{
	TimestampTz next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 DBRESET_LEADER_CHECK_MS);

	for (;;)
	{
		shm_mq_result res;
		Size		nbytes;
		void	   *data;
		StringInfoData msg;
		char		msgtype;

		res = shm_mq_receive(job->mqh, &nbytes, &data,
							 job->handle == NULL || job->locking);
		if (res == SHM_MQ_WOULD_BLOCK)
		{
			if (worker_gone(job))
			{
				/* what it sent before it went, if anything */
				res = shm_mq_receive(job->mqh, &nbytes, &data, true);
				if (res != SHM_MQ_SUCCESS)
					break;
			}
			else
			{
				(void) WaitLatch(MyLatch,
								 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 DBRESET_LEADER_CHECK_MS, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
				/* as often as the detector would look, by default */
				if (job->locking && GetCurrentTimestamp() >= next_check)
				{
					check_lock_deadlock(job);
					next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 DBRESET_LEADER_CHECK_MS);
				}
				continue;
			}
		}
		if (res != SHM_MQ_SUCCESS)
			break;

		msg.data = data;
		msg.len = (int) nbytes;
		msg.maxlen = (int) nbytes;
		msg.cursor = 0;
		msgtype = pq_getmsgbyte(&msg);

		switch (msgtype)
		{
			case 'E':
			case 'N':
				relay_error_notice(job, msgtype, &msg);
				break;
			case DBRESET_MSG_RESULT:
			case DBRESET_MSG_LOCKED:

				/*
				 * A result is sent after the commit, and last; a lock
				 * request's answer once the lock is held.
				 */
				appendBinaryStringInfo(reply, msg.data + msg.cursor,
									   msg.len - msg.cursor);
				return msgtype;
			default:
				/* ignore anything else the protocol layer may send */
				break;
		}
	}

	return 0;
}

/*
 * dbreset_init_worker
 *		What every dbreset background worker registration has in common: a
 *		dynamic worker of this library, connected to a database, started
 *		once the server is consistent and never restarted.  The caller sets
 *		its name, its argument and whom to notify.
 */
void
dbreset_init_worker(BackgroundWorker *worker, const char *function,
					const char *type, int extra_flags)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION | extra_flags;
	worker->bgw_start_time = BgWorkerStart_ConsistentState;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "dbreset");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
}

/*
 * dbreset_job_start
 *		Start a background worker for job "kind" with the given arguments;
 *		"description" names what it does in messages ("dropping database
 *		\"x\"").
 *		The worker connects to the caller's database with the caller's
 *		identity, then waits for dbreset_job_release().
 *
 *		The caller's current user and security context travel to the
 *		worker, so permission checks there see what they would see here
 *		(SET ROLE, SECURITY DEFINER).  No free worker slot is an error, as
 *		in core.  Until dbreset_job_finish() the caller must arrange for
 *		dbreset_job_cancel() to run on error.
 */
DbresetJobHandle *
dbreset_job_start(const DbresetJob *kind, const void *args, Size args_len,
				  const char *description)
{
	return job_start(MyDatabaseId, false, kind, args, args_len, description);
}

/*
 * dbreset_job_start_in
 *		dbreset_job_start() with the worker connected to database_id rather
 *		than to the caller's database, for what can only be done from inside
 *		a database: ROLLBACK PREPARED, by the worker that holds that
 *		database locked for its drop.  This helper alone joins its caller's
 *		lock group, before it connects, so that the caller's lock on the
 *		database does not keep it out; it bypasses ALLOW_CONNECTIONS, as
 *		every dbreset worker does.  Its caller waits for it to exit
 *		(dbreset_job_finish, dbreset_job_cancel), so it never outlives the
 *		lock group's leader.
 */
DbresetJobHandle *
dbreset_job_start_in(Oid database_id, const DbresetJob *kind, const void *args,
					 Size args_len, const char *description)
{
	return job_start(database_id, true, kind, args, args_len, description);
}

/*
 * create_segment
 *		A job's DSM segment: its header (who the worker is to be, which
 *		job), a copy of its arguments and the queue the worker reports on.
 */
static DbresetJobHandle *
create_segment(Oid database_id, bool join_lock_group, const DbresetJob *kind,
			   const void *args, Size args_len, const char *description)
{
	DbresetJobHandle *job = palloc0(sizeof(DbresetJobHandle));
	shm_toc_estimator e;
	Size		segsize;
	shm_toc    *toc;
	DbresetJobHeader *hdr;
	char	   *argspace;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(DbresetJobHeader));
	shm_toc_estimate_chunk(&e, args_len);
	shm_toc_estimate_chunk(&e, DBRESET_MQ_SIZE);
	shm_toc_estimate_keys(&e, 3);
	segsize = shm_toc_estimate(&e);

	job->description = pstrdup(description);
	job->seg = dsm_create(segsize, 0);
	toc = shm_toc_create(DBRESET_SHM_MAGIC, dsm_segment_address(job->seg),
						 segsize);

	hdr = shm_toc_allocate(toc, sizeof(DbresetJobHeader));
	pg_atomic_init_u32(&hdr->state, DBRESET_STATE_WAITING);
	namestrcpy(&hdr->job_symbol, kind->symbol);
	hdr->database_id = database_id;
	hdr->authenticated_user_id = GetAuthenticatedUserId();
	hdr->caller_procno = (int) (MyProc - ProcGlobal->allProcs);
	hdr->caller_pid = MyProcPid;
	hdr->join_lock_group = join_lock_group;
	GetUserIdAndSecContext(&hdr->current_user_id, &hdr->sec_context);
	hdr->caller_encoding = GetDatabaseEncoding();
	hdr->args_len = args_len;
	shm_toc_insert(toc, DBRESET_KEY_HEADER, hdr);
	job->hdr = hdr;

	argspace = shm_toc_allocate(toc, args_len);
	memcpy(argspace, args, args_len);
	shm_toc_insert(toc, DBRESET_KEY_ARGS, argspace);
	job->args = argspace;

	job->mq = shm_mq_create(shm_toc_allocate(toc, DBRESET_MQ_SIZE),
							DBRESET_MQ_SIZE);
	shm_toc_insert(toc, DBRESET_KEY_MQ, job->mq);
	shm_mq_set_receiver(job->mq, MyProc);
	job->mqh = shm_mq_attach(job->mq, job->seg, NULL);
	job->active = true;

	return job;
}

/*
 * start_worker
 *		Register a background worker for job, which is to join our lock
 *		group if join_lock_group.  No free worker slot is an error, as in
 *		core.
 */
static void
start_worker(DbresetJobHandle *job, bool join_lock_group)
{
	BackgroundWorker worker;
	MemoryContext oldcontext;
	bool		registered;

	dbreset_init_worker(&worker, "dbreset_worker_main", "dbreset worker", 0);
	snprintf(worker.bgw_name, BGW_MAXLEN, "dbreset worker for PID %d",
			 MyProcPid);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(job->seg));
	worker.bgw_notify_pid = MyProcPid;

	/*
	 * A helper joins our lock group, as parallel workers do: locks we hold
	 * do not block it, and the deadlock detector sees the two as one.
	 * Become the leader before the worker can look.
	 */
	if (join_lock_group)
		BecomeLockGroupLeader();

	/* the handle must outlive an error: dbreset_job_cancel waits on it */
	oldcontext = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &job->handle);
	MemoryContextSwitchTo(oldcontext);
	if (!registered)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase \"max_worker_processes\".")));

	/* a worker that dies before attaching makes the receive return */
	shm_mq_set_handle(job->mqh, job->handle);

	ereport(DEBUG1,
			(errmsg_internal("dbreset: started a worker for %s", job->description)));
}

/*
 * job_start
 *		dbreset_job_start() and dbreset_job_start_in(): set up the segment
 *		and hand it to a standing worker, or register a worker for it.
 */
static DbresetJobHandle *
job_start(Oid database_id, bool join_lock_group, const DbresetJob *kind,
		  const void *args, Size args_len, const char *description)
{
	DbresetJobHandle *job;

	/*
	 * The worker could not see what this transaction wrote, and would wait
	 * for it -- or, in the caller's lock group, not even wait: the SQL
	 * functions refuse such calls first.
	 *
	 * No heavyweight lock of ours may stand in the worker's way either: it
	 * is in no lock group, and a worker waiting for our lock while we wait
	 * for it is a deadlock the detector never sees.  What we can hold here,
	 * and why none of it is in the way:
	 *
	 * - the database's lock (AccessExclusiveLock) of a drop, a lock or a
	 *   bulk drop: handed over to the worker, and let go of first
	 *   (dbreset_job_take_lock); a reset's and a copy's worker takes its
	 *   locks itself, the caller holding none;
	 * - what a reset with keep_spare takes for a swap (the spare maker's
	 *   lock, the spare's, the database's and the template's): let go of
	 *   when no spare is used (swap_in_spare, dbreset_find_spare); with one,
	 *   no job follows, since the swap writes;
	 * - the lock of terminate_sessions()'s grace: let go of before it
	 *   returns (commands/sessions.c);
	 * - what catalog scans take (AccessShareLock on shared catalogs), which
	 *   no job's statement conflicts with; a conditional lock of ours
	 *   (dbreset_has_spares) is let go of at once;
	 * - anything taken by an earlier statement of a transaction that wrote
	 *   (DDL, DML, SELECT ... FOR UPDATE): refused just below;
	 * - the rollback helper's database: its caller's lock group covers it.
	 *
	 * What remains is the user's own LOCK TABLE on a shared catalog earlier
	 * in the same transaction, which would block DROP DATABASE in a session
	 * just the same.
	 */
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		elog(ERROR, "dbreset job started after the transaction has written");

	job = create_segment(database_id, join_lock_group, kind, args, args_len,
						 description);

	/* a standing worker of this database and login role, if one is idle */
	if (!join_lock_group && database_id == MyDatabaseId &&
		dbreset_standing_claim(dsm_segment_handle(job->seg), &job->worker_proc,
						   &job->worker_pid))
	{
		ereport(DEBUG1,
				(errmsg_internal("dbreset: %s handed to standing worker PID %d",
								 description, job->worker_pid)));
		return job;
	}

	start_worker(job, join_lock_group);
	return job;
}

/*
 * dbreset_job_release
 *		Let the worker run its job, and wake it if it is already waiting.
 *		The worker sets itself as the queue's sender before it first looks
 *		at the state, so either it sees the release or we see it to wake.
 */
void
dbreset_job_release(DbresetJobHandle *job)
{
	uint32		expected = DBRESET_STATE_WAITING;
	PGPROC	   *worker;

	if (!pg_atomic_compare_exchange_u32(&job->hdr->state, &expected,
										DBRESET_STATE_RELEASED))
		elog(ERROR, "dbreset job in unexpected state %u", expected);

	worker = shm_mq_get_sender(job->mq);
	if (worker != NULL)
		SetLatch(&worker->procLatch);
}

/*
 * dbreset_job_update_args
 *		Replace the job's arguments before the release, once the caller
 *		knows them all (what its worker has locked); args_len must be what
 *		the job was started with.
 */
void
dbreset_job_update_args(DbresetJobHandle *job, const void *args,
						Size args_len)
{
	Assert(pg_atomic_read_u32(&job->hdr->state) == DBRESET_STATE_WAITING);
	if (args_len != job->hdr->args_len)
		elog(ERROR, "dbreset job arguments changed size");
	memcpy(job->args, args, args_len);
}

/*
 * dbreset_job_take_lock
 *		Hand the caller's lock on database dbid (named dbname, taken with
 *		dbreset_acquire_database_lock in this mode) over to the worker,
 *		which will hold it for the rest of the job.  Returns the database's
 *		OID, or InvalidOid if it was dropped or renamed meanwhile.  Without
 *		"handed", the caller holds no such lock, and the worker takes it
 *		afresh: for a copy's source, whose new connections must keep
 *		waiting rather than get in during a hand-off (they would then be
 *		sessions the copy has to wait for).
 *
 *		The worker is not in our lock group, so it waits for any lock of
 *		ours that conflicts with what its job takes: we let ours go as soon
 *		as the worker has been asked for its own, and only then wait for
 *		it.  Whatever had queued for the lock behind ours (a connection, an
 *		ALTER DATABASE) may get it before the worker; that is why every
 *		check of the database and every look at its sessions comes after
 *		this call, once the worker holds the lock, and nothing before it.
 *		The wait is bounded by timeout_ms, as the caller's own was, and its
 *		expiry is raised here as the caller would raise it.
 *
 *		A database about to be dropped by force_drop_database() or closed
 *		by lock_database() is locked by the caller first, rather than by
 *		the worker straight away, so that a call waiting for the lock is
 *		seen waiting for it in pg_locks and pg_blocking_pids(), as DROP
 *		DATABASE would be.  A reset's database and a copy's source are not
 *		(handed false, dbreset_job_lock_database): there the worker is
 *		seen waiting, and a deadlock through a lock of the caller's is
 *		looked for meanwhile (check_lock_deadlock).
 */
Oid
dbreset_job_take_lock(DbresetJobHandle *job, const char *dbname, Oid dbid,
					  LOCKMODE mode, int timeout_ms, bool handed)
{
	uint32		expected = DBRESET_STATE_WAITING;
	PGPROC	   *worker;
	StringInfoData reply;
	char		msgtype;
	Oid			locked;

	namestrcpy(&job->hdr->lock_dbname, dbname);
	job->hdr->lock_dbid = dbid;
	job->hdr->lock_mode = mode;
	job->hdr->lock_timeout_ms = timeout_ms;
	if (!pg_atomic_compare_exchange_u32(&job->hdr->state, &expected,
										DBRESET_STATE_LOCKING))
		elog(ERROR, "dbreset job in unexpected state %u", expected);
	worker = shm_mq_get_sender(job->mq);
	if (worker != NULL)
		SetLatch(&worker->procLatch);

	if (handed)
		UnlockSharedObject(DatabaseRelationId, dbid, 0, mode);

	initStringInfo(&reply);
	job->locking = true;
	msgtype = dbreset_receive(job, &reply);
	job->locking = false;
	if (msgtype != DBRESET_MSG_LOCKED || reply.len != sizeof(Oid))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("background worker exited without reporting a result"),
				 errhint("Check the server log for what happened to it.")));
	memcpy(&locked, reply.data, sizeof(Oid));
	pfree(reply.data);

	/* see what was committed before the worker got the lock */
	AcceptInvalidationMessages();
	return locked;
}

/*
 * dbreset_job_finish
 *		Wait for the worker's result (what the job appended to its result
 *		buffer, available once the worker has committed), re-throwing its
 *		notices and errors, then -- unless it stays for the next job -- for
 *		the worker to exit, then let go of the segment.  The handle itself
 *		stays valid (and marked finished) for the caller's error cleanup.
 *
 *		Waiting for the exit keeps a call's worker from outliving it: its
 *		slot is free again for the next call (max_worker_processes), a
 *		helper in the caller's lock group never outlives its leader, and a
 *		worker connected to a database about to be dropped has left it.
 */
void
dbreset_job_finish(DbresetJobHandle *job, StringInfo result)
{
	/*
	 * Raise before letting go of anything: the caller's error cleanup
	 * (dbreset_job_cancel) still looks at the segment.
	 */
	StringInfoData reply;
	bool		stays;

	initStringInfo(&reply);
	if (dbreset_receive(job, &reply) != DBRESET_MSG_RESULT || reply.len < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("background worker exited without reporting a result"),
				 errhint("Check the server log for what happened to it.")));
	stays = reply.data[0] != 0;
	appendBinaryStringInfo(result, reply.data + 1, reply.len - 1);
	pfree(reply.data);

	/* one that stays for the next job is done with this one already */
	job->finished = true;
	if (!stays)
		wait_for_worker(job, false);
	dsm_detach(job->seg);
	let_go(job);
}

/*
 * dbreset_job_point_of_no_return
 *		Called by a job in the worker just before the step that must not be
 *		interrupted halfway (the DROP), once the worker itself holds every
 *		lock that keeps new sessions out: from here on the caller's locks
 *		may go at any time.  If the caller has already given up, stop here
 *		with nothing done; otherwise the caller will no longer stop us, and
 *		neither will a cancel from anyone else.
 */
void
dbreset_job_point_of_no_return(void)
{
	uint32		expected = DBRESET_STATE_RELEASED;

	Assert(MyJobHeader != NULL);
	if (!pg_atomic_compare_exchange_u32(&MyJobHeader->state, &expected,
										DBRESET_STATE_COMMITTING))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling dbreset background worker because its caller was canceled")));

	/*
	 * From here on nobody may cancel us halfway: not a stray
	 * pg_cancel_backend(), nor a lock_timeout from the role's settings.
	 * Termination (shutdown) and deadlock errors still end the job, as they
	 * would end DROP DATABASE in a session.  Held until the job is done
	 * (serve_job).
	 */
	HOLD_CANCEL_INTERRUPTS();
}

/*
 * dbreset_job_leave_point_of_no_return
 *		Called by a job that runs several steps of no return in turn (a
 *		batch of drops), once one has committed: the caller may stop the job
 *		again.  If it gave up while the step ran, stop now, quietly -- the
 *		step has committed and the caller has said so.
 */
void
dbreset_job_leave_point_of_no_return(void)
{
	Assert(MyJobHeader != NULL);
	if (!leave_committing_state())
		worker_exit_quietly();

	/*
	 * An ERROR swallowed since the point of no return (a hook's PG_TRY)
	 * has already reset the holdoff count: resume only what is held.
	 */
	if (QueryCancelHoldoffCount > 0)
		RESUME_CANCEL_INTERRUPTS();
}

/*
 * leave_committing_state
 *		Move the job from past its point of no return back to released, so
 *		that the caller may stop it again; false if the caller gave it up
 *		meanwhile.  Only the state word: the cancel holdoff is left to the
 *		function that calls this.
 */
static bool
leave_committing_state(void)
{
	uint32		expected = DBRESET_STATE_COMMITTING;

	return pg_atomic_compare_exchange_u32(&MyJobHeader->state, &expected,
										  DBRESET_STATE_RELEASED);
}

/*
 * dbreset_job_recover
 *		Called by a job that reports an error as a result instead of ending
 *		with it (a batch of drops), from its PG_CATCH once it has copied and
 *		flushed the error: abort the transaction and start the next one, as
 *		a session's error recovery would.  Session locks of the job are
 *		released.  If the error is the caller's cancel, exit quietly.
 */
void
dbreset_job_recover(void)
{
	uint32		state = pg_atomic_read_u32(&MyJobHeader->state);

	/*
	 * The step of no return failed: we may be stopped again.  Not through
	 * dbreset_job_leave_point_of_no_return(): the ERROR has already undone
	 * its HOLD_CANCEL_INTERRUPTS() (errfinish resets the holdoff counts to
	 * zero), and releasing it again would wrap QueryCancelHoldoffCount
	 * around -- an assertion failure, or cancels held off for good.
	 */
	if (state == DBRESET_STATE_COMMITTING)
	{
		if (!leave_committing_state())
			worker_exit_quietly();
		state = DBRESET_STATE_RELEASED;
	}
	if (state != DBRESET_STATE_RELEASED)
		worker_exit_quietly();

	AbortCurrentTransaction();
	release_session_locks();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * dbreset_job_next_transaction
 *		Called by a job in the worker that needs more than one transaction
 *		(a reset: DROP DATABASE, then CREATE DATABASE, then the kept
 *		properties, each committed before the next begins, as core runs
 *		them): commit the current one and start the next, with a snapshot.
 */
void
dbreset_job_next_transaction(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * dbreset_job_caller_encoding
 *		Worker side: the caller's database encoding, for text a job puts in
 *		its result, which travels unconverted (messages are converted).
 */
int
dbreset_job_caller_encoding(void)
{
	Assert(MyJobHeader != NULL);
	return MyJobHeader->caller_encoding;
}

/*
 * dbreset_job_hold_lock
 *		Worker side: lock a shared object -- a database, the spare maker's
 *		sub-object of one (spare.c), a role -- for the rest of the job,
 *		across its transactions, as movedb() does with a session lock.
 *		Granted at once when the worker holds it already
 *		(dbreset_job_take_lock); released after the job's last commit,
 *		before the caller hears of the result, so that nothing of ours is
 *		left behind when the call returns.  An abort does not release them: a job that recovers from
 *		an error releases them in dbreset_job_recover(), and a worker that
 *		fails exits, which releases every lock it holds.
 */
void
dbreset_job_hold_lock(Oid classid, Oid objid, uint16 objsubid, LOCKMODE mode)
{
	MemoryContext oldcontext = MemoryContextSwitchTo(TopMemoryContext);
	DbresetSessionLock *lock = palloc(sizeof(DbresetSessionLock));

	LockSharedObjectForSession(classid, objid, objsubid, mode);
	/* as LockSharedObject() does: see what was committed while we waited */
	AcceptInvalidationMessages();
	lock->classid = classid;
	lock->objid = objid;
	lock->objsubid = objsubid;
	lock->mode = mode;
	MySessionLocks = lappend(MySessionLocks, lock);
	MemoryContextSwitchTo(oldcontext);
}

/*
 * release_session_locks
 *		Let go of what dbreset_job_hold_lock() took.
 */
static void
release_session_locks(void)
{
	ListCell   *lc;

	foreach(lc, MySessionLocks)
	{
		DbresetSessionLock *lock = (DbresetSessionLock *) lfirst(lc);

		UnlockSharedObjectForSession(lock->classid, lock->objid,
									 lock->objsubid, lock->mode);
	}
	list_free_deep(MySessionLocks);
	MySessionLocks = NIL;
}

/*
 * worker_exit_quietly
 *		Exit without a word when the caller has given the job up: it knows,
 *		and has reported, why.  proc_exit() aborts an open transaction.
 */
static void
worker_exit_quietly(void)
{
	proc_exit(0);
}

/*
 * worker_handle_error
 *		The worker's error recovery, reached by siglongjmp from any ERROR:
 *		report it to the caller (and the server log) through the queue --
 *		unless the caller cancelled the job, in which case the error is only
 *		the cancel interrupt it sent us -- then exit.  The transaction
 *		aborts on the way out, releasing the worker's locks.
 */
static void
worker_handle_error(void)
{
	HOLD_INTERRUPTS();
	error_context_stack = NULL;

	if (MyJobHeader != NULL &&
		pg_atomic_read_u32(&MyJobHeader->state) == DBRESET_STATE_CANCELLED)
	{
		FlushErrorState();
		worker_exit_quietly();
	}

	EmitErrorReport();
	FlushErrorState();
	proc_exit(1);
}

/*
 * take_requested_lock
 *		Worker side of dbreset_job_take_lock(): lock the database the caller
 *		asked for, in the job's transaction (begun here, at the first
 *		request), answer with its OID -- InvalidOid if it was dropped or
 *		renamed meanwhile -- and wait again.  An expired timeout is an
 *		ERROR, which reaches the caller as usual.
 */
static void
take_requested_lock(DbresetJobHeader *hdr)
{
	uint32		expected = DBRESET_STATE_LOCKING;
	StringInfoData msg;
	Oid			dbid;

	if (!MyJobInTransaction)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		MyJobInTransaction = true;
	}

	dbid = dbreset_relock_database(NameStr(hdr->lock_dbname), hdr->lock_dbid,
								   (LOCKMODE) hdr->lock_mode,
								   hdr->lock_timeout_ms);

	/* the caller may ask for the next lock as soon as it has the answer */
	if (!pg_atomic_compare_exchange_u32(&hdr->state, &expected,
										DBRESET_STATE_WAITING))
		worker_exit_quietly();	/* cancelled meanwhile */

	initStringInfo(&msg);
	appendStringInfoChar(&msg, DBRESET_MSG_LOCKED);
	appendBinaryStringInfo(&msg, (const char *) &dbid, sizeof(Oid));
	(void) dbreset_shm_mq_send(MyJobQueue, msg.len, msg.data);
	pfree(msg.data);
}

/*
 * dbreset_wait_for_release
 *		Worker side: wait until the caller releases the job, or stop if it
 *		gave up.  The latch wait keeps us responsive to the caller's cancel
 *		interrupt, to SIGTERM and to postmaster death.  Should the caller be
 *		gone without having cancelled us, we notice within about a second
 *		and exit, freeing our slot.
 */
static void
dbreset_wait_for_release(DbresetJobHeader *hdr)
{
	PGPROC	   *caller = &ProcGlobal->allProcs[hdr->caller_procno];
	TimestampTz next_check = GetCurrentTimestamp();

	for (;;)
	{
		uint32		state = pg_atomic_read_u32(&hdr->state);

		/*
		 * The caller wrote the lock request or the arguments before it set
		 * the state (a compare-and-exchange, a full barrier); a plain
		 * atomic read is none: read them only after this one.
		 */
		pg_read_barrier();
		if (state == DBRESET_STATE_RELEASED)
			return;
		if (state == DBRESET_STATE_CANCELLED)
			worker_exit_quietly();
		if (state == DBRESET_STATE_LOCKING)
		{
			take_requested_lock(hdr);
			continue;
		}

		/* the caller's PGPROC no longer belongs to it once it has exited */
		if (GetCurrentTimestamp() >= next_check)
		{
			if (!dbreset_proc_is_live(caller, hdr->caller_pid))
			{
				ereport(LOG,
						(errmsg("dbreset background worker exiting because its caller, PID %d, has exited",
								hdr->caller_pid)));
				worker_exit_quietly();
			}
			next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 DBRESET_LEADER_CHECK_MS);
		}

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 DBRESET_LEADER_CHECK_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * finish_job_state
 *		Worker side, once the job has committed: mark it done, so that the
 *		caller no longer stops us (DBRESET_STATE_DONE).  False if the caller
 *		gave it up before it was done, in which case a cancel interrupt may
 *		be on its way: we must not stay for another job.
 */
static bool
finish_job_state(DbresetJobHeader *hdr)
{
	uint32		state = pg_atomic_read_u32(&hdr->state);

	while (state == DBRESET_STATE_RELEASED ||
		   state == DBRESET_STATE_COMMITTING ||
		   state == DBRESET_STATE_ABANDONED)
	{
		if (pg_atomic_compare_exchange_u32(&hdr->state, &state,
										   DBRESET_STATE_DONE))
			return true;
	}
	return false;
}

/*
 * offer_for_next_job
 *		Worker side, once a job is done and with interrupts held: offer
 *		ourselves for the next job (dbreset_standing_offer); whether we stay.
 *		An error here must not reach the caller of the job just committed:
 *		it goes to the server log only, and we do not stay.
 *
 *		Nothing of the session is reset between two jobs, because no job
 *		leaves anything in it: a job runs only dbreset's own code and
 *		utility statements (no user code -- no event trigger fires for a
 *		database-level command), changes settings only at a GUC nest level
 *		it pops (lock_timeout in dblock.c, file_copy_method in copy.c),
 *		creates no temporary object and takes no advisory lock; its memory is its own context,
 *		its user and security context are set for every job (serve_job),
 *		its session locks are released after its last commit, and a job
 *		that fails ends its worker.
 */
static bool
offer_for_next_job(void)
{
	CommandDest save_dest = whereToSendOutput;
	MemoryContext oldcontext = CurrentMemoryContext;
	volatile bool stays = false;

	whereToSendOutput = DestNone;
	PG_TRY();
	{
		stays = dbreset_standing_offer();
	}
	PG_CATCH();
	{
		/*
		 * No subtransaction to roll back to, and none needed: we are
		 * between transactions, and a worker that does not stay exits once
		 * the result is sent.  The ERROR reset the holdoff counts.
		 */
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(oldcontext);
		EmitErrorReport();
		FlushErrorState();
		stays = false;
	}
	PG_END_TRY();
	whereToSendOutput = save_dest;
	return stays;
}

/*
 * connect_as_caller
 *		Worker side, for the first job: connect to the caller's database as
 *		the caller's authenticated user -- a helper after joining the
 *		caller's lock group -- and set up what every job of this process
 *		shares.
 */
static void
connect_as_caller(DbresetJobHeader *hdr)
{
	int			encoding;

	/*
	 * A helper joins the caller's lock group before connecting, as parallel
	 * workers do: connecting takes a lock on the database that the caller
	 * holds locked.
	 */
	if (hdr->join_lock_group &&
		!BecomeLockGroupMember(&ProcGlobal->allProcs[hdr->caller_procno],
							   hdr->caller_pid))
		worker_exit_quietly();	/* the caller has exited already */

	BackgroundWorkerInitializeConnectionByOid(hdr->database_id,
											  hdr->authenticated_user_id,
											  DBRESET_BGWORKER_FLAGS);

	/*
	 * Messages go out in the caller's database encoding, which is what it
	 * re-throws them in -- a worker connected to another database (a
	 * rollback of prepared transactions) may have another encoding.  The
	 * conversion is looked up in a transaction, as at a client's start-up;
	 * without one (no conversion between the two), the database's own.  A
	 * standing worker only ever serves callers of its own database.
	 */
	encoding = hdr->caller_encoding;
	if (encoding != GetDatabaseEncoding())
	{
		StartTransactionCommand();
		if (PrepareClientEncoding(encoding) < 0)
			encoding = GetDatabaseEncoding();
		CommitTransactionCommand();
	}
	if (SetClientEncoding(encoding) < 0)
		(void) SetClientEncoding(GetDatabaseEncoding());

	/*
	 * The worker starts from the role's and database's settings, not the
	 * caller's session.  The caller has checked that it may write; the job
	 * must not be cut short by a timeout it did not ask for.
	 */
	SetConfigOption("default_transaction_read_only", "off",
					PGC_SUSET, PGC_S_OVERRIDE);
	dbreset_disable_transaction_timeout();
}

/*
 * attach_job
 *		Map the segment of a job and find its parts: returns its header,
 *		with *seg, *args and *mq.  No resource owner: the mapping lasts
 *		until we let go of it.
 */
static DbresetJobHeader *
attach_job(dsm_handle handle, dsm_segment **seg, char **args, shm_mq **mq)
{
	shm_toc    *toc;

	*seg = dsm_attach(handle);
	if (*seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map dynamic shared memory segment")));
	toc = shm_toc_attach(DBRESET_SHM_MAGIC, dsm_segment_address(*seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("invalid magic number in dynamic shared memory segment")));

	*args = shm_toc_lookup(toc, DBRESET_KEY_ARGS, false);
	*mq = shm_toc_lookup(toc, DBRESET_KEY_MQ, false);
	return shm_toc_lookup(toc, DBRESET_KEY_HEADER, false);
}

/*
 * run_job
 *		Run job, released, in its transaction -- begun already if a lock
 *		request began it -- and commit; the job appends its result to
 *		result.  Then let go of the locks it held across transactions and
 *		go back to the login identity.
 */
static void
run_job(const DbresetJob *job, const char *args, StringInfo result)
{
	pgstat_report_activity(STATE_RUNNING, job->name);
	if (!MyJobInTransaction)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		MyJobInTransaction = true;
	}
	/* a snapshot, as PortalRunUtility provides one to utility statements */
	PushActiveSnapshot(GetTransactionSnapshot());
	job->run(args, result);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MyJobInTransaction = false;
	release_session_locks();
	SetUserIdAndSecContext(MyLoginUserId, MyLoginSecContext);

	/*
	 * The point of no return held cancels off until the job is done.  A
	 * cancel that came meanwhile was meant to be ignored, not delayed: the
	 * state word says whether the caller gave up.
	 */
	QueryCancelHoldoffCount = 0;
	QueryCancelPending = false;
	(void) get_timeout_indicator(LOCK_TIMEOUT, true);
	(void) pgstat_report_stat(true);
}

/*
 * serve_job
 *		Worker side: run the job whose segment is "handle" -- attach to it,
 *		send all client output to its caller, connect if this is our first
 *		job, take on the caller's current user and security context, run
 *		the job in a transaction of its own, commit, report the result --
 *		and let go of the segment.  Returns whether we stay, idle, for the
 *		next job (dbreset_standing_offer); the result tells the caller so.
 */
static bool
serve_job(dsm_handle handle, bool first)
{
	dsm_segment *seg;
	DbresetJobHeader *hdr;
	char	   *args;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	const DbresetJob *job;
	MemoryContext jobcxt;
	MemoryContext oldcontext;
	StringInfoData result;
	StringInfoData msg;
	bool		stays;

	hdr = attach_job(handle, &seg, &args, &mq);
	MyJobHeader = hdr;

	/*
	 * A cancel that reached us while idle (pg_cancel_backend, or one that
	 * raced with the claim) is not this job's: its caller marks the job
	 * cancelled before it signals us, and we look at that right after.
	 */
	QueryCancelPending = false;
	(void) get_timeout_indicator(LOCK_TIMEOUT, true);

	/* cancelled before we even started: nobody waits for a word */
	if (pg_atomic_read_u32(&hdr->state) == DBRESET_STATE_CANCELLED)
		worker_exit_quietly();

	/* everything of the job outside its transactions goes with it */
	jobcxt = AllocSetContextCreate(TopMemoryContext, "dbreset job",
								   ALLOCSET_SMALL_SIZES);
	oldcontext = MemoryContextSwitchTo(jobcxt);
	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	MemoryContextSwitchTo(oldcontext);
	pq_redirect_to_shm_mq(seg, mqh);
	MyJobQueue = mqh;

	job = lookup_job(NameStr(hdr->job_symbol));
	if (first)
	{
		connect_as_caller(hdr);
		GetUserIdAndSecContext(&MyLoginUserId, &MyLoginSecContext);
	}

	/* act as the caller: SET ROLE and SECURITY DEFINER included */
	SetUserIdAndSecContext(hdr->current_user_id, hdr->sec_context);

	dbreset_wait_for_release(hdr);

	/*
	 * Outside the transaction, which a lock request may have begun: read
	 * after the commit.
	 */
	oldcontext = MemoryContextSwitchTo(jobcxt);
	initStringInfo(&result);
	MemoryContextSwitchTo(oldcontext);

	run_job(job, args, &result);

	/*
	 * Done: from here on the caller does not stop us, and so no cancel of
	 * its can reach a later job.  Nothing that happens from here on may
	 * reach the caller as an error for a job that has committed: interrupts
	 * are held until the queue is let go of, and the offer for the next job
	 * reports its errors to the server log only (offer_for_next_job).  The
	 * offer comes before the result, so that the caller's next call finds
	 * us.
	 */
	if (!finish_job_state(hdr))
		worker_exit_quietly();
	HOLD_INTERRUPTS();
	stays = !hdr->join_lock_group && offer_for_next_job();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* the caller may be gone already if it was cancelled late: ignore */
	oldcontext = MemoryContextSwitchTo(jobcxt);
	initStringInfo(&msg);
	appendStringInfoChar(&msg, DBRESET_MSG_RESULT);
	appendStringInfoChar(&msg, stays ? 1 : 0);
	appendBinaryStringInfo(&msg, result.data, result.len);
	(void) dbreset_shm_mq_send(mqh, msg.len, msg.data);
	MemoryContextSwitchTo(oldcontext);

	/* the output goes to the log until the next job's queue (pqmq.c) */
	MyJobHeader = NULL;
	MyJobQueue = NULL;
	dsm_detach(seg);
	MemoryContextDelete(jobcxt);
	RESUME_INTERRUPTS();
	return stays;
}

/*
 * dbreset_worker_main
 *		Background worker entry point: serve the job the worker was started
 *		for, then -- as a standing worker (standing.c) -- the jobs callers of
 *		the same database and login role hand it, until it is time to go.
 *
 *		Any error, including one raised before the connection is complete,
 *		reaches the caller once the output is redirected; the worker then
 *		exits and its transaction aborts, releasing its locks.  The caller
 *		stops the worker with SIGINT (a query cancel), which ends in a quiet
 *		exit once the worker sees that the job was cancelled.
 */
void
dbreset_worker_main(Datum main_arg)
{
	dsm_handle	handle = DatumGetUInt32(main_arg);
	sigjmp_buf	local_sigjmp_buf;
	volatile bool first = true;

	/* SIGTERM (shutdown) terminates, SIGINT (the caller) cancels */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	/* from here on, every ERROR ends in worker_handle_error() */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
		worker_handle_error();
	PG_exception_stack = &local_sigjmp_buf;

	while (serve_job(handle, first))
	{
		first = false;
		if (!dbreset_standing_wait_for_job(&handle))
			break;
	}
	proc_exit(0);
}

/*
 * dbreset_job_hand_over_lock
 *		Hand the caller's lock on database dbid, taken with
 *		dbreset_acquire_database_lock(), over to the worker of job
 *		(dbreset_job_take_lock).  Whoever queued for the lock behind the
 *		caller gets it first: should that be a reset that gave the database
 *		a new OID (a swap; any copy before 15), or a rename, the worker
 *		then takes the lock of whatever the name leads to itself
 *		(dbreset_job_lock_database).  Returns the locked database's OID, or
 *		InvalidOid if there is no longer any of that name.
 */
Oid
dbreset_job_hand_over_lock(DbresetJobHandle *job, const char *dbname,
						   Oid dbid, LOCKMODE mode, int timeout_ms)
{
	Oid			locked = dbreset_job_take_lock(job, dbname, dbid, mode,
											   timeout_ms, true);

	if (OidIsValid(locked))
		return locked;
	return dbreset_job_lock_database(job, dbname,
									 dbreset_get_database_oid(dbname,
															  timeout_ms),
									 mode, timeout_ms);
}

/*
 * dbreset_job_lock_existing_database
 *		dbreset_job_hand_over_lock() for a lock taken with
 *		dbreset_lock_existing_database(): 3D000 if there is no longer any
 *		database of that name.
 */
Oid
dbreset_job_lock_existing_database(DbresetJobHandle *job, const char *dbname,
								   Oid dbid, LOCKMODE mode, int timeout_ms)
{
	dbid = dbreset_job_hand_over_lock(job, dbname, dbid, mode, timeout_ms);
	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	return dbid;
}

/*
 * dbreset_job_lock_database
 *		Have the worker of job take the lock on database dbname (found as
 *		dbid) itself, nothing handed over (dbreset_job_take_lock), looking
 *		the name up again if it was dropped, renamed or created anew while
 *		the worker waited, as dbreset_acquire_database_lock() does.  Returns
 *		the OID the worker holds locked, or InvalidOid if there is no longer
 *		a database of that name.
 *
 *		The worker queues for the lock, not the caller: whoever queues
 *		behind it -- a connection -- waits until the job is done, rather
 *		than getting in while a lock is handed from caller to worker.
 */
Oid
dbreset_job_lock_database(DbresetJobHandle *job, const char *dbname,
						  Oid dbid, LOCKMODE mode, int timeout_ms)
{
	while (OidIsValid(dbid))
	{
		Oid			locked = dbreset_job_take_lock(job, dbname, dbid, mode,
												   timeout_ms, false);

		if (OidIsValid(locked))
			return locked;
		dbid = dbreset_get_database_oid(dbname, timeout_ms);
	}
	return InvalidOid;
}
