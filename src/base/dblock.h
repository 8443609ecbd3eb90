/*-------------------------------------------------------------------------
 *
 * dblock.h
 *	  Locking a database object by name within a timeout, and a database's
 *	  name across a reset (dblock.c).
 *
 * IDENTIFICATION
 *	  src/base/dblock.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_DBLOCK_H
#define DBRESET_DBLOCK_H

#include "storage/lockdefs.h"

/* the sub-object of a database object under which a name is locked */
#define DBRESET_NAME_LOCK_SUBID 2

extern Oid	dbreset_name_lock_id(const char *dbname);
extern Oid	dbreset_get_database_oid(const char *dbname, int timeout_ms);
extern Oid	dbreset_get_existing_database_oid(const char *dbname,
											  int timeout_ms);
extern Oid	dbreset_acquire_database_lock(const char *dbname, LOCKMODE mode,
										  int timeout_ms);
extern Oid	dbreset_lock_existing_database(const char *dbname, LOCKMODE mode,
										   int timeout_ms);
extern Oid	dbreset_relock_database(const char *dbname, Oid dbid,
									LOCKMODE mode, int timeout_ms);

#endif							/* DBRESET_DBLOCK_H */
