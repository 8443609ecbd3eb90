/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Run a job in a dynamic background worker, in its own top-level
 *	  transaction, with the caller's identity, and bring its result and its
 *	  errors back to the caller.
 *
 * DROP DATABASE and CREATE DATABASE remove or copy files that a rollback
 * cannot restore, so core refuses to run them inside a transaction.  A
 * function is always inside its caller's transaction; the worker gives the
 * job a transaction of its own that commits independently.
 *
 * The caller creates a DSM segment holding a header (identity, job kind,
 * cancel state), the job's arguments and a shm_mq.  The worker redirects
 * its client protocol output into the queue (pq_redirect_to_shm_mq), so
 * its NOTICEs and its ERROR arrive in the caller as protocol messages,
 * which the caller re-throws with SQLSTATE, detail and hint intact -- the
 * way parallel query workers report to their leader.  A job's result
 * travels as one message of type 'r' sent after the commit.
 *
 * Cancellation: a cancelled or terminated caller stops the worker, unless
 * the worker has already passed its point of no return (the DROP itself
 * has begun, which must not be interrupted halfway).  The two sides agree
 * through one atomic state word in the segment.
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
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
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "compat.h"
#include "dbreset.h"

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

/* Values of DbresetJobHeader.state */
#define DBRESET_STATE_RUNNING	0	/* may still be cancelled */
#define DBRESET_STATE_CANCELLED 1	/* caller gave up; worker must stop */
#define DBRESET_STATE_COMMITTING 2	/* past the point of no return */

typedef struct DbresetJobHeader
{
	pg_atomic_uint32 state;
	DbresetJobKind kind;
	Oid			database_id;	/* caller's database, where the worker
								 * connects */
	Oid			authenticated_user_id;	/* who the worker connects as */
	int			leader_procno;	/* caller's PGPROC, to join its lock group */
	int			leader_pid;
	Oid			current_user_id;	/* who the job runs as */
	int			sec_context;
	Size		args_len;
} DbresetJobHeader;

/* Worker side: the header of the job this process runs */
static DbresetJobHeader *MyJobHeader = NULL;

PGDLLEXPORT void dbreset_worker_main(Datum main_arg);

/*
 * dbreset_lookup_job
 *		Map a job kind to its implementation.  Kinds travel through shared
 *		memory instead of function pointers, which differ between processes
 *		under EXEC_BACKEND.
 */
static const DbresetJob *
dbreset_lookup_job(DbresetJobKind kind)
{
	switch (kind)
	{
		case DBRESET_JOB_DROP:
			return &dbreset_drop_job;
	}
	elog(ERROR, "unrecognized dbreset job kind: %d", (int) kind);
	return NULL;				/* keep compiler quiet */
}

/*
 * dbreset_cancel_worker
 *		Error cleanup on the caller's side: unless the worker has passed its
 *		point of no return, mark the job cancelled and terminate the worker,
 *		so that its transaction aborts and nothing is dropped.  Runs for
 *		ERROR (cancel, statement_timeout) and for FATAL (the caller was
 *		terminated) alike.
 */
static void
dbreset_cancel_worker(int code, Datum arg)
{
	BackgroundWorkerHandle *handle = (BackgroundWorkerHandle *) DatumGetPointer(arg);
	DbresetJobHeader *hdr = MyJobHeader;
	uint32		expected = DBRESET_STATE_RUNNING;

	(void) code;
	if (hdr != NULL &&
		!pg_atomic_compare_exchange_u32(&hdr->state, &expected,
										DBRESET_STATE_CANCELLED) &&
		expected == DBRESET_STATE_COMMITTING)
	{
		/*
		 * The DROP has begun: let it finish rather than leave a half-dropped
		 * database.  The worker logs what it did.
		 */
		MyJobHeader = NULL;
		return;
	}
	MyJobHeader = NULL;
	TerminateBackgroundWorker(handle);
}

/*
 * dbreset_receive
 *		Read the worker's messages until it detaches: re-throw its notices
 *		and its error, keep its result.  Returns whether a result arrived.
 *
 *		shm_mq_receive() waits on the latch with CHECK_FOR_INTERRUPTS(), so a
 *		cancel reaches us here, and on PostgreSQL 15+ we keep absorbing the
 *		ProcSignalBarrier that the worker's DROP DATABASE waits for.
 */
static bool
dbreset_receive(shm_mq_handle *mqh, StringInfo result)
{
	bool		got_result = false;

	for (;;)
	{
		shm_mq_result res;
		Size		nbytes;
		void	   *data;
		StringInfoData msg;
		char		msgtype;

		res = shm_mq_receive(mqh, &nbytes, &data, false);
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
				{
					ErrorData	edata;

					pq_parse_errornotice(&msg, &edata);
					/* a worker's FATAL is the caller's ERROR */
					edata.elevel = Min(edata.elevel, ERROR);
					ThrowErrorData(&edata);
					break;
				}
			case DBRESET_MSG_RESULT:
				appendBinaryStringInfo(result, msg.data + msg.cursor,
									   msg.len - msg.cursor);
				got_result = true;
				break;
			default:
				/* ignore anything else the protocol layer may send */
				break;
		}
	}

	return got_result;
}

/*
 * dbreset_run_job
 *		Run job "kind" with the given arguments in a new background worker
 *		and wait for it.  On success, "result" holds what the job returned.
 *
 *		The caller's current user and security context travel to the
 *		worker, so permission checks there see what they would see here
 *		(SET ROLE, SECURITY DEFINER).  The worker connects to the caller's
 *		database.  No free worker slot is an error, as in core.
 */
void
dbreset_run_job(DbresetJobKind kind, const void *args, Size args_len,
				StringInfo result)
{
	shm_toc_estimator e;
	Size		segsize;
	dsm_segment *seg;
	shm_toc    *toc;
	DbresetJobHeader *hdr;
	char	   *argspace;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	bool		got_result;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(DbresetJobHeader));
	shm_toc_estimate_chunk(&e, args_len);
	shm_toc_estimate_chunk(&e, DBRESET_MQ_SIZE);
	shm_toc_estimate_keys(&e, 3);
	segsize = shm_toc_estimate(&e);

	seg = dsm_create(segsize, 0);
	toc = shm_toc_create(DBRESET_SHM_MAGIC, dsm_segment_address(seg), segsize);

	hdr = shm_toc_allocate(toc, sizeof(DbresetJobHeader));
	pg_atomic_init_u32(&hdr->state, DBRESET_STATE_RUNNING);
	hdr->kind = kind;
	hdr->database_id = MyDatabaseId;
	hdr->authenticated_user_id = GetAuthenticatedUserId();
	hdr->leader_procno = (int) (MyProc - ProcGlobal->allProcs);
	hdr->leader_pid = MyProcPid;
	GetUserIdAndSecContext(&hdr->current_user_id, &hdr->sec_context);
	hdr->args_len = args_len;
	shm_toc_insert(toc, DBRESET_KEY_HEADER, hdr);

	argspace = shm_toc_allocate(toc, args_len);
	memcpy(argspace, args, args_len);
	shm_toc_insert(toc, DBRESET_KEY_ARGS, argspace);

	mq = shm_mq_create(shm_toc_allocate(toc, DBRESET_MQ_SIZE),
					   DBRESET_MQ_SIZE);
	shm_toc_insert(toc, DBRESET_KEY_MQ, mq);
	shm_mq_set_receiver(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dbreset");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dbreset_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dbreset worker for PID %d",
			 MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "dbreset worker");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	/*
	 * The worker joins our lock group, as parallel workers do, so that a
	 * lock it waits for shows up in pg_blocking_pids() of this backend and
	 * the deadlock detector sees the two as one.  Become the leader before
	 * the worker can look.
	 */
	BecomeLockGroupLeader();

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase \"max_worker_processes\".")));

	/* a worker that dies before attaching makes the receive return */
	shm_mq_set_handle(mqh, handle);

	MyJobHeader = hdr;
	PG_ENSURE_ERROR_CLEANUP(dbreset_cancel_worker, PointerGetDatum(handle));
	{
		got_result = dbreset_receive(mqh, result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_cancel_worker, PointerGetDatum(handle));
	MyJobHeader = NULL;

	dsm_detach(seg);
	pfree(handle);

	if (!got_result)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("background worker exited without reporting a result"),
				 errhint("Check the server log for what happened to it.")));
}

/*
 * dbreset_job_point_of_no_return
 *		Called by a job in the worker just before the step that must not be
 *		interrupted halfway (the DROP).  If the caller has already given up,
 *		stop here with nothing done; otherwise the caller will no longer
 *		terminate us.
 */
void
dbreset_job_point_of_no_return(void)
{
	uint32		expected = DBRESET_STATE_RUNNING;

	Assert(MyJobHeader != NULL);
	if (!pg_atomic_compare_exchange_u32(&MyJobHeader->state, &expected,
										DBRESET_STATE_COMMITTING))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling dbreset background worker because its caller was canceled")));
}

/*
 * dbreset_worker_main
 *		Background worker entry point: attach to the caller's segment, send
 *		all client output to the caller, connect with the caller's identity,
 *		run the job in a transaction of its own, commit, report the result.
 *
 *		Any error, including one raised before the connection is complete,
 *		reaches the caller once the output is redirected; the worker then
 *		exits and its transaction aborts, releasing its locks.
 */
void
dbreset_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	DbresetJobHeader *hdr;
	char	   *args;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	const DbresetJob *job;
	StringInfoData result;
	StringInfoData msg;

	/* Terminate on SIGTERM at the next CHECK_FOR_INTERRUPTS, like a backend */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no resource owner: the mapping lasts as long as the process */
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map dynamic shared memory segment")));
	toc = shm_toc_attach(DBRESET_SHM_MAGIC, dsm_segment_address(seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad magic number in dynamic shared memory segment")));

	hdr = shm_toc_lookup(toc, DBRESET_KEY_HEADER, false);
	args = shm_toc_lookup(toc, DBRESET_KEY_ARGS, false);
	mq = shm_toc_lookup(toc, DBRESET_KEY_MQ, false);

	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, mqh);

	MyJobHeader = hdr;
	job = dbreset_lookup_job(hdr->kind);

	BackgroundWorkerInitializeConnectionByOid(hdr->database_id,
											  hdr->authenticated_user_id,
											  DBRESET_BGWORKER_FLAGS);
	if (!BecomeLockGroupMember(&ProcGlobal->allProcs[hdr->leader_procno],
							   hdr->leader_pid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the backend that started this worker has exited")));

	/* messages go out in the database encoding, as the caller expects */
	SetClientEncoding(GetDatabaseEncoding());

	/* act as the caller: SET ROLE and SECURITY DEFINER included */
	SetUserIdAndSecContext(hdr->current_user_id, hdr->sec_context);

	pgstat_report_activity(STATE_RUNNING, job->name);
	StartTransactionCommand();
	initStringInfo(&result);
	job->run(args, &result);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (job->after_commit)
		job->after_commit(args);

	/* the caller may be gone already if it was cancelled late: ignore */
	initStringInfo(&msg);
	appendStringInfoChar(&msg, DBRESET_MSG_RESULT);
	appendBinaryStringInfo(&msg, result.data, result.len);
	(void) dbreset_shm_mq_send(mqh, msg.len, msg.data);
}
