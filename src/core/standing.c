/*-------------------------------------------------------------------------
 *
 * standing.c
 *	  Standing workers: a job's worker that, once done, stays connected and
 *	  waits for the next job of its database and user, so that a call finds
 *	  a warm worker instead of starting one.
 *
 * The roster of standing workers lives in the DSM registry (17+) or else
 * in the main shared memory: asked for at startup with dbreset in
 * shared_preload_libraries, taken from the room core leaves free there on
 * first use without (roster_attach_main).  A
 * worker that anyone else needs out of its database leaves at once.
 * Settings: dbreset.worker_idle_timeout, dbreset.max_idle_workers.
 *
 * IDENTIFICATION
 *	  src/core/standing.c
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
#include "core/backends.h"
#include "core/standing.h"

/* How many standing workers can be listed at once, idle or busy */
#define DBRESET_ROSTER_SLOTS		32

/* How often a standing worker looks whether someone wants its database */
#define DBRESET_IDLE_POLL_MS	100

/* How often dbreset_standing_evict() looks whether the evicted have gone */
#define DBRESET_EVICT_POLL_MS	1

/* What a slot's worker is doing */
typedef enum DbresetSlotState
{
	DBRESET_SLOT_FREE = 0,
	DBRESET_SLOT_IDLE,			/* waiting for a job */
	DBRESET_SLOT_BUSY,			/* claimed: "job" is its segment */
	DBRESET_SLOT_LEAVING		/* evicted: exits without another job */
} DbresetSlotState;

typedef struct DbresetRosterSlot
{
	DbresetSlotState state;
	int			pid;
	int			procno;
	Oid			database_id;
	Oid			user_id;		/* authenticated user */
	dsm_handle	job;
} DbresetRosterSlot;

typedef struct DbresetRoster
{
	slock_t		mutex;
	DbresetRosterSlot slots[DBRESET_ROSTER_SLOTS];
} DbresetRoster;

/* GUC variables */
int			dbreset_worker_idle_timeout = 5000;
int			dbreset_max_idle_workers = 2;

/* This process's pointer to the array, once looked up */
static DbresetRoster *Roster = NULL;

/* Worker side: our slot, or -1 */
static int	MySlot = -1;
static bool MySlotCleanupRegistered = false;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static dbreset_shmem_request_hook_type prev_shmem_request_hook = NULL;

/*
 * roster_init
 *		Initialize a new array: every slot free.
 */
static void
roster_init(DbresetRoster *roster)
{
	SpinLockInit(&roster->mutex);
	memset(roster->slots, 0, sizeof(roster->slots));
}

#ifdef DBRESET_HAVE_DSM_REGISTRY
/*
 * roster_init_dsm
 *		GetNamedDSMSegment()'s initialization callback.
 */
DBRESET_DSM_INIT_CALLBACK(roster_init_dsm)
{
	roster_init((DbresetRoster *) ptr);
}
#endif

/*
 * roster_attach_main
 *		Find or create the array in the main shared memory, under
 *		AddinShmemInitLock.  Preloaded, at startup, in the space asked for;
 *		otherwise (before 17: no DSM registry) on first use, in the room
 *		that core leaves free in that segment for what is too small to ask
 *		for -- as pg_prewarm did before 17 when not preloaded.  A crash
 *		restart makes the segment anew: the first user after it makes a
 *		new array.
 *
 *		That room may be gone: a lock table that grew past its size keeps
 *		what it took.  ShmemInitStruct() then raises an error, having let
 *		go of its own lock; on first use it is caught here, and NULL (no
 *		standing workers: a worker per call) returned.  Nothing else can
 *		fail in between, and no transaction state is touched, so the error,
 *		the holdoff counts (which the ERROR zeroed) and our lock are all
 *		there is to undo.
 */
static DbresetRoster *
roster_attach_main(void)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	uint32		save_holdoff = InterruptHoldoffCount;
	uint32		save_cancel_holdoff = QueryCancelHoldoffCount;
	DbresetRoster *volatile roster = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	PG_TRY();
	{
		bool		found;

		roster = ShmemInitStruct("dbreset standing workers",
								 sizeof(DbresetRoster), &found);
		if (!found)
			roster_init(roster);
	}
	PG_CATCH();
	{
		if (!IsUnderPostmaster)
			PG_RE_THROW();
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		/* the ERROR zeroed them; our lock still holds interrupts once */
		InterruptHoldoffCount = save_holdoff + 1;
		QueryCancelHoldoffCount = save_cancel_holdoff;
		roster = NULL;
	}
	PG_END_TRY();
	LWLockRelease(AddinShmemInitLock);
	return roster;
}

/*
 * roster_shmem_startup
 *		shmem_startup_hook, with dbreset preloaded: find or create the array
 *		in the main shared memory.
 */
static void
roster_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	Roster = roster_attach_main();
}

/*
 * roster_shmem_request
 *		shmem_request_hook (15+): ask for the array's space.
 */
static void
roster_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(DbresetRoster));
}

/*
 * dbreset_standing_define_settings
 *		From _PG_init: define the settings and, when preloaded, ask for the
 *		array's shared memory.
 */
void
dbreset_standing_define_settings(void)
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
							0, DBRESET_ROSTER_SLOTS / 2,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	dbreset_install_shmem_request(&prev_shmem_request_hook,
								  roster_shmem_request,
								  sizeof(DbresetRoster));
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = roster_shmem_startup;
}

/*
 * get_roster
 *		The array: found at startup when preloaded, else looked up (and made
 *		if need be) on first use -- in the DSM registry (17+) or in the main
 *		shared memory, where there may be no room for it: then NULL, as
 *		with standing workers off.
 */
static DbresetRoster *
get_roster(void)
{
	if (Roster == NULL)
	{
#ifdef DBRESET_HAVE_DSM_REGISTRY
		bool		found;

		Roster = dbreset_get_named_dsm("dbreset standing workers",
									 sizeof(DbresetRoster), roster_init_dsm,
									 &found);
#else
		static bool no_room = false;

		/* no room found once: none will be (see roster_attach_main) */
		if (!no_room)
			Roster = roster_attach_main();
		no_room = (Roster == NULL);
#endif
	}
	return Roster;
}

/*
 * roster_if_on
 *		The array, if standing workers are on (neither setting is 0) and
 *		there is one.
 */
static DbresetRoster *
roster_if_on(void)
{
	if (dbreset_worker_idle_timeout == 0 || dbreset_max_idle_workers == 0)
		return NULL;
	return get_roster();
}

/*
 * dbreset_standing_claim
 *		Caller side: hand the job whose segment is "job" to a standing worker
 *		of this session's database and authenticated user, if there is one
 *		and standing workers are on.  Returns whether one took it, with its
 *		PGPROC and pid.
 */
bool
dbreset_standing_claim(dsm_handle job, PGPROC **proc, int *pid)
{
	DbresetRoster *roster = roster_if_on();
	Oid			userid = GetAuthenticatedUserId();
	int			i;

	*proc = NULL;
	*pid = 0;
	if (roster == NULL)
		return false;

	SpinLockAcquire(&roster->mutex);
	for (i = 0; i < DBRESET_ROSTER_SLOTS; i++)
	{
		DbresetRosterSlot *slot = &roster->slots[i];

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
	SpinLockRelease(&roster->mutex);

	if (*proc == NULL)
		return false;
	SetLatch(&(*proc)->procLatch);
	return true;
}

/*
 * dbreset_standing_pids
 *		The pids of the standing workers on database dbid (InvalidOid: on any),
 *		as a palloc'd array; *npids counts them.  They are left out of the
 *		sessions a call lists and terminates: dbreset_standing_evict() sends
 *		them away instead.
 */
int *
dbreset_standing_pids(Oid dbid, int *npids)
{
	DbresetRoster *roster = get_roster();
	int		   *pids = palloc(sizeof(int) * DBRESET_ROSTER_SLOTS);
	int			i;

	*npids = 0;
	if (roster == NULL)
		return pids;
	SpinLockAcquire(&roster->mutex);
	for (i = 0; i < DBRESET_ROSTER_SLOTS; i++)
	{
		DbresetRosterSlot *slot = &roster->slots[i];

		if ((slot->state == DBRESET_SLOT_IDLE ||
			 slot->state == DBRESET_SLOT_LEAVING) &&
			(!OidIsValid(dbid) || slot->database_id == dbid))
			pids[(*npids)++] = slot->pid;
	}
	SpinLockRelease(&roster->mutex);
	return pids;
}

/*
 * dbreset_standing_evict
 *		Send the standing workers on database dbid away, and wait until they
 *		have left its ProcArray entries, at most timeout_ms: for a call that
 *		needs the database empty (a drop, a reset, a lock, a copy of it).
 *		They exit at once; what stays longer than the timeout is left to
 *		the caller's own checks, which see it as a session.
 */
void
dbreset_standing_evict(Oid dbid, int timeout_ms)
{
	DbresetRoster *roster = get_roster();
	PGPROC	   *procs[DBRESET_ROSTER_SLOTS];
	int			pids[DBRESET_ROSTER_SLOTS];
	int			n = 0;
	int			i;
	TimestampTz deadline;

	if (roster == NULL)
		return;
	SpinLockAcquire(&roster->mutex);
	for (i = 0; i < DBRESET_ROSTER_SLOTS; i++)
	{
		DbresetRosterSlot *slot = &roster->slots[i];

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
	SpinLockRelease(&roster->mutex);

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
 *		so that a standing worker that is terminated is never claimed.
 */
static void
release_slot(int code, Datum arg)
{
	DbresetRoster *roster = Roster;

	(void) code;
	(void) arg;
	if (MySlot < 0 || roster == NULL)
		return;
	SpinLockAcquire(&roster->mutex);
	if (roster->slots[MySlot].pid == MyProcPid)
		memset(&roster->slots[MySlot], 0, sizeof(DbresetRosterSlot));
	SpinLockRelease(&roster->mutex);
	MySlot = -1;
}

/*
 * dbreset_standing_offer
 *		Worker side, after a job has committed and before its result is
 *		sent: take a slot as a standing worker, so that the caller's next call
 *		finds us even if it comes before we are back waiting.  Returns false
 *		if we are not to stay: standing workers off, none possible, or
 *		dbreset.max_idle_workers idle already.
 */
bool
dbreset_standing_offer(void)
{
	DbresetRoster *roster = roster_if_on();
	Oid			userid = GetAuthenticatedUserId();
	int			nidle = 0;
	int			free_slot = -1;
	int			i;

	if (roster == NULL)
		return false;

	SpinLockAcquire(&roster->mutex);
	for (i = 0; i < DBRESET_ROSTER_SLOTS; i++)
	{
		DbresetRosterSlot *slot = &roster->slots[i];

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
		DbresetRosterSlot *slot = &roster->slots[free_slot];

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
	SpinLockRelease(&roster->mutex);

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
 * dbreset_standing_wait_for_job
 *		Worker side, once dbreset_standing_offer() has given us a slot and the
 *		last job's segment is let go: wait, idle, until a caller claims us
 *		(returns true, with the job's segment in *job), or until it is time
 *		to leave (returns false, slot given back): idle for
 *		dbreset.worker_idle_timeout, the database wanted by someone, or
 *		evicted.  SIGTERM ends the process as usual; a configuration reload
 *		is applied, and invalidation messages are read while we wait, so
 *		that the shared invalidation queue never waits for us.
 */
bool
dbreset_standing_wait_for_job(dsm_handle *job)
{
	DbresetRoster *roster = Roster;
	TimestampTz idle_since = GetCurrentTimestamp();

	Assert(MySlot >= 0 && roster != NULL);
	pgstat_report_activity(STATE_IDLE, NULL);

	for (;;)
	{
		DbresetSlotState state;
		TimestampTz now;
		long		idle_ms;

		SpinLockAcquire(&roster->mutex);
		state = roster->slots[MySlot].state;
		*job = roster->slots[MySlot].job;
		SpinLockRelease(&roster->mutex);

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
		/* a cancel of a standing worker (pg_cancel_backend) sends it away */
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
	SpinLockAcquire(&roster->mutex);
	if (roster->slots[MySlot].state == DBRESET_SLOT_BUSY)
	{
		*job = roster->slots[MySlot].job;
		SpinLockRelease(&roster->mutex);
		return true;
	}
	memset(&roster->slots[MySlot], 0, sizeof(DbresetRosterSlot));
	SpinLockRelease(&roster->mutex);
	MySlot = -1;
	return false;
}
