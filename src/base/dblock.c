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
 * A database's name has a lock too, held by a reset from before its DROP
 * until its CREATE has committed: a look-up of the name in between waits
 * for it, rather than find no database (dbreset_get_database_oid).
 *
 * IDENTIFICATION
 *	  src/base/dblock.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/hash.h"
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
 *		The processes that hold a lock on database dbid (sub-object
 *		objsubid: 0 for the database itself) conflicting with mode, as a
 *		list of pids ("4711, 4712") for messages; *npids counts them.  A
 *		holder with no process running its transaction (a prepared
 *		transaction, or one that has just ended) is left out.  Only called
 *		after our own wait for the lock has been given up.
 */
static char *
lock_holders(Oid dbid, uint16 objsubid, LOCKMODE mode, int *npids)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	StringInfoData pids;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dbid, objsubid);
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
 *		LockSharedObject() on the database (sub-object objsubid: 0 for the
 *		database itself), the wait bounded by lock_timeout = timeout_ms for
 *		this lock only, its expiry reported as what the caller asked for,
 *		naming who holds the lock.
 */
static void
lock_database_oid(const char *dbname, Oid dbid, uint16 objsubid,
				  LOCKMODE mode, int timeout_ms)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	int			save_nestlevel = NewGUCNestLevel();

	(void) set_config_option("lock_timeout", psprintf("%d", timeout_ms),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	PG_TRY();
	{
		LockSharedObject(DatabaseRelationId, dbid, objsubid, mode);
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
		pids = lock_holders(dbid, objsubid, mode, &npids);

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
	AtEOXact_GUC(true, save_nestlevel);
}

/*
 * dbreset_name_lock_id
 *		The object ID under which database name dbname is locked (as
 *		sub-object DBRESET_NAME_LOCK_SUBID): a hash of the name.  Two names
 *		that share one only wait for each other's resets.
 */
Oid
dbreset_name_lock_id(const char *dbname)
{
	return DatumGetUInt32(hash_any((const unsigned char *) dbname,
								   strlen(dbname)));
}

/*
 * dbreset_get_database_oid
 *		get_database_oid(dbname, true), except that a name found missing
 *		while a reset of it is between its DROP and its CREATE -- each
 *		commits on its own -- is looked up again once that reset is done,
 *		so that a database there before and after the reset is never
 *		called missing.  The reset's job holds the name's lock
 *		(dbreset_name_lock_id) meanwhile; the wait for it is bounded by
 *		timeout_ms.  InvalidOid if there is no such database.
 */
Oid
dbreset_get_database_oid(const char *dbname, int timeout_ms)
{
	Oid			dbid = get_database_oid(dbname, true);
	Oid			nameid;

	if (OidIsValid(dbid))
		return dbid;

	nameid = dbreset_name_lock_id(dbname);
	lock_database_oid(dbname, nameid, DBRESET_NAME_LOCK_SUBID, ShareLock,
					  timeout_ms);
	UnlockSharedObject(DatabaseRelationId, nameid, DBRESET_NAME_LOCK_SUBID,
					   ShareLock);

	/* LockSharedObject has accepted invalidations */
	return get_database_oid(dbname, true);
}

/*
 * dbreset_get_existing_database_oid
 *		dbreset_get_database_oid(), for a database that must exist: 3D000
 *		if there is none of that name.
 */
Oid
dbreset_get_existing_database_oid(const char *dbname, int timeout_ms)
{
	Oid			dbid = dbreset_get_database_oid(dbname, timeout_ms);

	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	return dbid;
}

/*
 * dbreset_acquire_database_lock
 *		Look the database up by name (dbreset_get_database_oid) and lock it
 *		in the given mode, retrying if it was renamed or dropped while we
 *		waited, as dropdb() does.  Returns InvalidOid if there is no such
 *		database.  The lock is held until the end of the transaction or an
 *		explicit unlock.
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

	/*
	 * Each lock bounds its own wait (lock_database_oid); this bounds the
	 * catalog look-ups in between too, for this call only.
	 */
	(void) set_config_option("lock_timeout", psprintf("%d", timeout_ms),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	for (;;)
	{
		dbid = dbreset_get_database_oid(dbname, timeout_ms);
		if (!OidIsValid(dbid))
			break;

		lock_database_oid(dbname, dbid, 0, mode, timeout_ms);

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
	lock_database_oid(dbname, dbid, 0, mode, timeout_ms);

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
