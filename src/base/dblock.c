/*-------------------------------------------------------------------------
 *
 * dblock.c
 *	  Taking a database object's lock by name, bounded by the caller's
 *	  timeout, and naming who holds it when the timeout expires.
 *
 * AccessExclusiveLock holds new connections to a database off (they wait
 * for it in InitPostgres); ShareLock, CREATE DATABASE's mode on its
 * template, does the same while leaving existing sessions alone.
 *
 * IDENTIFICATION
 *	  src/base/dblock.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/guc.h"

#include "compat.h"
#include "base/dblock.h"

/*
 * lock_holders
 *		The processes that hold a lock on database dbid conflicting with
 *		mode, as a list of pids ("4711, 4712") for messages; *npids counts
 *		them.  A holder with no process running its transaction (a prepared
 *		transaction, or one that has just ended) is left out.  Only called
 *		after our own wait for the lock has been given up.
 */
static char *
lock_holders(Oid dbid, LOCKMODE mode, int *npids)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	StringInfoData pids;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dbid, 0);
	vxids = GetLockConflicts(&tag, mode, NULL);

	initStringInfo(&pids);
	*npids = 0;
	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		int			pid = dbreset_vxid_pid(*vxids);

		if (pid != 0)
			appendStringInfo(&pids, "%s%d", (*npids)++ > 0 ? ", " : "", pid);
	}
	return pids.data;
}

/*
 * lock_database_oid
 *		LockSharedObject() on the database, with the expiry of lock_timeout
 *		reported as what the caller asked for, naming who holds the lock.
 */
static void
lock_database_oid(const char *dbname, Oid dbid, LOCKMODE mode,
				  int timeout_ms)
{
	MemoryContext oldcontext = CurrentMemoryContext;

	PG_TRY();
	{
		LockSharedObject(DatabaseRelationId, dbid, 0, mode);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *pids;
		int			npids;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();

		/* leave the lock's wait queue before we look at its holders */
		LockErrorCleanup();
		pids = lock_holders(dbid, mode, &npids);

		if (npids > 0)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not lock database \"%s\" within %d ms",
							dbname, timeout_ms),
					 errdetail_plural("Process %s holds a lock on the database. No session was terminated.",
									  "Processes %s hold locks on the database. No session was terminated.",
									  npids, pids)));
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not lock database \"%s\" within %d ms",
						dbname, timeout_ms),
				 errdetail("Another transaction, possibly a prepared one, holds a lock on the database. No session was terminated.")));
	}
	PG_END_TRY();
}

/*
 * dbreset_acquire_database_lock
 *		Look the database up by name and lock it in the given mode,
 *		retrying if it was renamed or dropped while we waited, as dropdb()
 *		does.  Returns InvalidOid if there is no such database.  The lock is
 *		held until the end of the transaction or an explicit unlock.
 *
 *		The wait is bounded by lock_timeout, set from the caller's timeout
 *		for this call only; its expiry is reported in terms of what was
 *		asked for.
 */
Oid
dbreset_acquire_database_lock(const char *dbname, LOCKMODE mode,
							  int timeout_ms)
{
	int			save_nestlevel = NewGUCNestLevel();
	Oid			dbid;

	/* bound the wait by the caller's timeout, for this call only */
	(void) set_config_option("lock_timeout", psprintf("%d", timeout_ms),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	for (;;)
	{
		dbid = get_database_oid(dbname, true);
		if (!OidIsValid(dbid))
			break;

		lock_database_oid(dbname, dbid, mode, timeout_ms);

		/* LockSharedObject has accepted invalidations: look again */
		if (get_database_oid(dbname, true) == dbid)
			break;

		UnlockSharedObject(DatabaseRelationId, dbid, 0, mode);
	}

	AtEOXact_GUC(true, save_nestlevel);
	return dbid;
}

/*
 * dbreset_relock_database
 *		Worker side of a lock hand-off (dbreset_job_take_lock): lock
 *		database dbid, which the caller found under dbname and has let go
 *		of, bounded by timeout_ms as the caller's own wait was.  Returns
 *		dbid, or InvalidOid -- with no lock kept -- if it is no longer the
 *		database of that name: dropped or renamed while we waited.
 */
Oid
dbreset_relock_database(const char *dbname, Oid dbid, LOCKMODE mode,
						int timeout_ms)
{
	int			save_nestlevel = NewGUCNestLevel();

	(void) set_config_option("lock_timeout", psprintf("%d", timeout_ms),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	lock_database_oid(dbname, dbid, mode, timeout_ms);
	AtEOXact_GUC(true, save_nestlevel);

	/* LockSharedObject has accepted invalidations */
	if (get_database_oid(dbname, true) == dbid)
		return dbid;
	UnlockSharedObject(DatabaseRelationId, dbid, 0, mode);
	return InvalidOid;
}

/*
 * dbreset_lock_existing_database
 *		dbreset_acquire_database_lock(), for a database that must exist:
 *		3D000 if there is none of that name.
 */
Oid
dbreset_lock_existing_database(const char *dbname, LOCKMODE mode,
							   int timeout_ms)
{
	Oid			dbid = dbreset_acquire_database_lock(dbname, mode, timeout_ms);

	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	return dbid;
}
