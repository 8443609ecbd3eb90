/*-------------------------------------------------------------------------
 *
 * dblock.h
 *	  Locking a database object by name within a timeout (dblock.c).
 *
 * IDENTIFICATION
 *	  src/base/dblock.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_DBLOCK_H
#define DBRESET_DBLOCK_H

#include "storage/lockdefs.h"

extern Oid	dbreset_acquire_database_lock(const char *dbname, LOCKMODE mode,
										  int timeout_ms);
extern Oid	dbreset_lock_existing_database(const char *dbname, LOCKMODE mode,
										   int timeout_ms);
extern Oid	dbreset_relock_database(const char *dbname, Oid dbid,
									LOCKMODE mode, int timeout_ms);

#endif							/* DBRESET_DBLOCK_H */
