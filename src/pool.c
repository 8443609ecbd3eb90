/*-------------------------------------------------------------------------
 *
 * pool.c
 *	  Standing workers: a dbreset background worker that has finished a job
 *	  stays, idle, for the next job of a caller of the same database and
 *	  authenticated user, so that a call does not pay for a worker's start
 *	  (a fork and a connection: on a small machine, more than a DROP
 *	  DATABASE of an empty database costs).
 *
 * A worker connects once, to one database as one user, so it serves one
 * (database, authenticated user) pair for life: the caller's database,
 * since the job runs there, and the caller's login role, since what the
 * job may do depends on it (CONNECT, the role's settings).  Each job brings
 * its caller's current user and security context (worker.c).
 *
 * The idle workers are listed in shared memory, in a small array of slots
 * under a spinlock.  With dbreset in shared_preload_libraries the array is
 * in the main shared memory, on every major; otherwise, on PostgreSQL 17
 * and later, in a DSM segment found by name (GetNamedDSMSegment); on older
 * majors without preloading there is no array, and every call starts a
 * worker of its own, which exits after its job.
 *
 * A caller claims an idle worker of its pair by writing its job's segment
 * handle into the worker's slot and setting the worker's latch.  A worker
 * that finishes a job takes a slot -- unless dbreset.worker_idle_timeout
 * is 0 or dbreset.max_idle_workers are idle already -- and waits there.  It
 * leaves, freeing its slot and its max_worker_processes slot, when:
 *
 *	- it has been idle for dbreset.worker_idle_timeout;
 *	- anyone holds a lock on its database that keeps new sessions out (a
 *	  DROP DATABASE, ALTER DATABASE ... RENAME or SET TABLESPACE, a CREATE
 *	  DATABASE copying it): an idle worker must never be why those fail or
 *	  wait, and it looks every DBRESET_IDLE_POLL_MS;
 *	- dbreset itself wants its database empty (dbreset_pool_evict): at once;
 *	- it is terminated (shutdown, pg_terminate_backend): its slot goes in a
 *	  before_shmem_exit callback.
 *
 * A job that fails ends its worker (worker.c), so no error state is ever
 * carried into the next job.
 *
 * IDENTIFICATION
 *	  src/pool.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/sinval.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "dbreset.h"

/* How many standing workers can be listed at once, idle or busy */
#define DBRESET_POOL_SLOTS		32

/* How often an idle worker looks whether someone wants its database */
#define DBRESET_IDLE_POLL_MS	100

/* How often dbreset_pool_evict() looks whether the evicted have gone */
#define DBRESET_EVICT_POLL_MS	1

/* What a slot's worker is doing */
typedef enum DbresetSlotState
{
	DBRESET_SLOT_FREE = 0,
	DBRESET_SLOT_IDLE,			/* waiting for a job */
	DBRESET_SLOT_BUSY,			/* claimed: "job" is its segment */
	DBRESET_SLOT_LEAVING		/* evicted: exits without another job */
} DbresetSlotState;

typedef struct DbresetPoolSlot
{
	DbresetSlotState state;
	int			pid;
	int			procno;
	Oid			database_id;
	Oid			user_id;		/* authenticated user */
	dsm_handle	job;
} DbresetPoolSlot;

typedef struct DbresetPool
{
	slock_t		mutex;
	DbresetPoolSlot slots[DBRESET_POOL_SLOTS];
} DbresetPool;

/* GUC variables */
int			dbreset_worker_idle_timeout = 5000;
int			dbreset_max_idle_workers = 2;

/* This process's pointer to the array, once looked up */
static DbresetPool *Pool = NULL;

/* Worker side: our slot, or -1 */
static int	MySlot = -1;
static bool MySlotCleanupRegistered = false;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

/*
 * pool_init
 *		Initialize a new array: every slot free.
 */
static void
pool_init(DbresetPool *pool)
{
	SpinLockInit(&pool->mutex);
	memset(pool->slots, 0, sizeof(pool->slots));
}

#ifdef DBRESET_HAVE_DSM_REGISTRY
/*
 * pool_init_dsm
 *		GetNamedDSMSegment()'s initialization callback.
 */
DBRESET_DSM_INIT_CALLBACK(pool_init_dsm)
{
	pool_init((DbresetPool *) ptr);
}
#endif

/*
 * pool_shmem_startup
 *		shmem_startup_hook, with dbreset preloaded: find or create the array
 *		in the main shared memory.
 */
static void
pool_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Pool = ShmemInitStruct("dbreset standing workers", sizeof(DbresetPool),
						   &found);
	if (!found)
		pool_init(Pool);
	LWLockRelease(AddinShmemInitLock);
}

#if PG_VERSION_NUM >= 150000
/*
 * pool_shmem_request
 *		shmem_request_hook (15+): ask for the array's space.
 */
static void
pool_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(DbresetPool));
}
#endif

/*
 * dbreset_pool_define
 *		From _PG_init: define the settings and, when preloaded, ask for the
 *		array's shared memory.
 */
void
dbreset_pool_define(void)
{
	DefineCustomIntVariable("dbreset.worker_idle_timeout",
							"How long a dbreset background worker waits, "
							"idle, for the next call before it exits.",
							"Zero starts a worker for every call and keeps "
							"none. An idle worker holds a max_worker_processes "
							"slot and is a session on its database.",
							&dbreset_worker_idle_timeout,
							5000,
							0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dbreset.max_idle_workers",
							"How many dbreset background workers may wait, "
							"idle, for the next call.",
							"Each holds a max_worker_processes slot, which "
							"parallel query and logical replication share.",
							&dbreset_max_idle_workers,
							2,
							0, DBRESET_POOL_SLOTS / 2,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pool_shmem_request;
#else
	RequestAddinShmemSpace(sizeof(DbresetPool));
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pool_shmem_startup;
}

/*
 * get_pool
 *		The array, or NULL where there is none: not preloaded, before 17.
 */
static DbresetPool *
get_pool(void)
{
#ifdef DBRESET_HAVE_DSM_REGISTRY
	if (Pool == NULL)
	{
		bool		found;

		Pool = dbreset_get_named_dsm("dbreset standing workers",
									 sizeof(DbresetPool), pool_init_dsm,
									 &found);
	}
#endif
	return Pool;
}

/*
 * pool_if_on
 *		The array, if standing workers are on (neither setting is 0) and
 *		there is one.
 */
static DbresetPool *
pool_if_on(void)
{
	if (dbreset_worker_idle_timeout == 0 || dbreset_max_idle_workers == 0)
		return NULL;
	return get_pool();
}

/*
 * dbreset_pool_claim
 *		Caller side: hand the job whose segment is "job" to an idle worker
 *		of this session's database and authenticated user, if there is one
 *		and standing workers are on.  Returns whether one took it, with its
 *		PGPROC and pid.
 */
bool
dbreset_pool_claim(dsm_handle job, PGPROC **proc, int *pid)
{
	DbresetPool *pool = pool_if_on();
	Oid			userid = GetAuthenticatedUserId();
	int			i;

	*proc = NULL;
	*pid = 0;
	if (pool == NULL)
		return false;

	SpinLockAcquire(&pool->mutex);
	for (i = 0; i < DBRESET_POOL_SLOTS; i++)
	{
		DbresetPoolSlot *slot = &pool->slots[i];

		if (slot->state == DBRESET_SLOT_IDLE &&
			slot->database_id == MyDatabaseId && slot->user_id == userid)
		{
			slot->state = DBRESET_SLOT_BUSY;
			slot->job = job;
			*proc = &ProcGlobal->allProcs[slot->procno];
			*pid = slot->pid;
			break;
		}
	}
	SpinLockRelease(&pool->mutex);

	if (*proc == NULL)
		return false;
	SetLatch(&(*proc)->procLatch);
	return true;
}

/*
 * dbreset_pool_idle_pids
 *		The pids of the idle workers on database dbid (InvalidOid: on any),
 *		as a palloc'd array; *npids counts them.  They are left out of the
 *		sessions a call lists and terminates: dbreset_pool_evict() sends
 *		them away instead.
 */
int *
dbreset_pool_idle_pids(Oid dbid, int *npids)
{
	DbresetPool *pool = get_pool();
	int		   *pids = palloc(sizeof(int) * DBRESET_POOL_SLOTS);
	int			i;

	*npids = 0;
	if (pool == NULL)
		return pids;
	SpinLockAcquire(&pool->mutex);
	for (i = 0; i < DBRESET_POOL_SLOTS; i++)
	{
		DbresetPoolSlot *slot = &pool->slots[i];

		if ((slot->state == DBRESET_SLOT_IDLE ||
			 slot->state == DBRESET_SLOT_LEAVING) &&
			(!OidIsValid(dbid) || slot->database_id == dbid))
			pids[(*npids)++] = slot->pid;
	}
	SpinLockRelease(&pool->mutex);
	return pids;
}

/*
 * dbreset_pool_evict
 *		Send the idle workers on database dbid away, and wait until they
 *		have left its ProcArray entries, at most timeout_ms: for a call that
 *		needs the database empty (a drop, a reset, a lock, a copy of it).
 *		They exit at once; what stays longer than the timeout is left to
 *		the caller's own checks, which see it as a session.
 */
void
dbreset_pool_evict(Oid dbid, int timeout_ms)
{
	DbresetPool *pool = get_pool();
	PGPROC	   *procs[DBRESET_POOL_SLOTS];
	int			pids[DBRESET_POOL_SLOTS];
	int			n = 0;
	int			i;
	TimestampTz deadline;

	if (pool == NULL)
		return;
	SpinLockAcquire(&pool->mutex);
	for (i = 0; i < DBRESET_POOL_SLOTS; i++)
	{
		DbresetPoolSlot *slot = &pool->slots[i];

		if ((slot->state == DBRESET_SLOT_IDLE ||
			 slot->state == DBRESET_SLOT_LEAVING) &&
			slot->database_id == dbid)
		{
			slot->state = DBRESET_SLOT_LEAVING;
			procs[n] = &ProcGlobal->allProcs[slot->procno];
			pids[n] = slot->pid;
			n++;
		}
	}
	SpinLockRelease(&pool->mutex);

	for (i = 0; i < n; i++)
		SetLatch(&procs[i]->procLatch);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	for (i = 0; i < n; i++)
	{
		while (dbreset_proc_is_live(procs[i], pids[i]) &&
			   procs[i]->databaseId == dbid &&
			   GetCurrentTimestamp() < deadline)
		{
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 DBRESET_EVICT_POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
}

/*
 * release_slot
 *		Worker side: give our slot back.  Also a before_shmem_exit callback,
 *		so that an idle worker that is terminated is never claimed.
 */
static void
release_slot(int code, Datum arg)
{
	DbresetPool *pool = Pool;

	(void) code;
	(void) arg;
	if (MySlot < 0 || pool == NULL)
		return;
	SpinLockAcquire(&pool->mutex);
	if (pool->slots[MySlot].pid == MyProcPid)
		memset(&pool->slots[MySlot], 0, sizeof(DbresetPoolSlot));
	SpinLockRelease(&pool->mutex);
	MySlot = -1;
}

/*
 * dbreset_pool_offer
 *		Worker side, after a job has committed and before its result is
 *		sent: take a slot as an idle worker, so that the caller's next call
 *		finds us even if it comes before we are back waiting.  Returns false
 *		if we are not to stay: standing workers off, none possible, or
 *		dbreset.max_idle_workers idle already.
 */
bool
dbreset_pool_offer(void)
{
	DbresetPool *pool = pool_if_on();
	Oid			userid = GetAuthenticatedUserId();
	int			nidle = 0;
	int			free_slot = -1;
	int			i;

	if (pool == NULL)
		return false;

	SpinLockAcquire(&pool->mutex);
	for (i = 0; i < DBRESET_POOL_SLOTS; i++)
	{
		DbresetPoolSlot *slot = &pool->slots[i];

		if (slot->state == DBRESET_SLOT_FREE)
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (slot->pid == MyProcPid)
			free_slot = i;		/* ours, busy with the job just done */
		else if (slot->state == DBRESET_SLOT_IDLE)
			nidle++;
	}
	if (free_slot >= 0 && nidle < dbreset_max_idle_workers)
	{
		DbresetPoolSlot *slot = &pool->slots[free_slot];

		slot->state = DBRESET_SLOT_IDLE;
		slot->pid = MyProcPid;
		slot->procno = (int) (MyProc - ProcGlobal->allProcs);
		slot->database_id = MyDatabaseId;
		slot->user_id = userid;
		slot->job = DSM_HANDLE_INVALID;
		MySlot = free_slot;
	}
	else
		free_slot = -1;
	SpinLockRelease(&pool->mutex);

	if (free_slot < 0)
	{
		release_slot(0, (Datum) 0);
		return false;
	}
	if (!MySlotCleanupRegistered)
	{
		before_shmem_exit(release_slot, (Datum) 0);
		MySlotCleanupRegistered = true;
	}
	return true;
}

/*
 * database_wanted
 *		Whether someone holds a lock on our database that keeps new
 *		sessions out -- what DROP DATABASE, ALTER DATABASE ... RENAME and
 *		SET TABLESPACE and CREATE DATABASE ... TEMPLATE take before they
 *		wait for the database's sessions to leave.
 */
static bool
database_wanted(void)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	bool		wanted;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	vxids = GetLockConflicts(&tag, RowExclusiveLock, NULL);
	wanted = VirtualTransactionIdIsValid(vxids[0]);
	pfree(vxids);
	return wanted;
}

/*
 * dbreset_pool_wait_for_job
 *		Worker side, once dbreset_pool_offer() has given us a slot and the
 *		last job's segment is let go: wait, idle, until a caller claims us
 *		(returns true, with the job's segment in *job), or until it is time
 *		to leave (returns false, slot given back): idle for
 *		dbreset.worker_idle_timeout, the database wanted by someone, or
 *		evicted.  SIGTERM ends the process as usual; a configuration reload
 *		is applied, and invalidation messages are read while we wait, so
 *		that the shared invalidation queue never waits for us.
 */
bool
dbreset_pool_wait_for_job(dsm_handle *job)
{
	DbresetPool *pool = Pool;
	TimestampTz idle_since = GetCurrentTimestamp();

	Assert(MySlot >= 0 && pool != NULL);
	pgstat_report_activity(STATE_IDLE, NULL);

	for (;;)
	{
		DbresetSlotState state;
		TimestampTz now;
		long		idle_ms;

		SpinLockAcquire(&pool->mutex);
		state = pool->slots[MySlot].state;
		*job = pool->slots[MySlot].job;
		SpinLockRelease(&pool->mutex);

		if (state == DBRESET_SLOT_BUSY)
			return true;
		if (state != DBRESET_SLOT_IDLE)
			break;				/* evicted */

		now = GetCurrentTimestamp();
		idle_ms = (long) ((now - idle_since) / 1000);
		if (dbreset_worker_idle_timeout == 0 ||
			dbreset_max_idle_workers == 0 ||
			idle_ms >= dbreset_worker_idle_timeout ||
			database_wanted())
			break;

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(DBRESET_IDLE_POLL_MS,
							 dbreset_worker_idle_timeout - idle_ms),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/* a cancel of an idle worker (pg_cancel_backend) sends it away */
		if (QueryCancelPending)
			break;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (catchupInterruptPending)
			ProcessCatchupInterrupt();
	}

	/* leave -- unless a caller claimed us meanwhile */
	SpinLockAcquire(&pool->mutex);
	if (pool->slots[MySlot].state == DBRESET_SLOT_BUSY)
	{
		*job = pool->slots[MySlot].job;
		SpinLockRelease(&pool->mutex);
		return true;
	}
	memset(&pool->slots[MySlot], 0, sizeof(DbresetPoolSlot));
	SpinLockRelease(&pool->mutex);
	MySlot = -1;
	return false;
}
