/*-------------------------------------------------------------------------
 *
 * dbstate.h
 *	  A database's state, its maintenance record and its prepared transactions (dbstate.c).
 *
 * IDENTIFICATION
 *	  src/base/dbstate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_DBSTATE_H
#define DBRESET_DBSTATE_H

#include "nodes/pg_list.h"

/* What a database's sessions() rows and drop_blockers() say of it */
typedef enum DbresetDatabaseState
{
	DBRESET_DB_OPEN,			/* connections allowed */
	DBRESET_DB_MAINTENANCE,		/* closed by dbreset.lock_database(): shown
								 * as "locked", that function's word */
	DBRESET_DB_CLOSED,			/* ALLOW_CONNECTIONS false otherwise */
	DBRESET_DB_INVALID			/* an interrupted DROP DATABASE */
} DbresetDatabaseState;

extern DbresetDatabaseState dbreset_database_state(Oid dbid);
extern const char *dbreset_database_state_name(DbresetDatabaseState state);

/* the maintenance record, pg_dbreset/locked.<OID> */
extern void dbreset_write_maintenance_record(Oid dbid, const char *dbname);
extern void dbreset_keep_maintenance_record(Oid dbid);
extern void dbreset_forget_maintenance_record(Oid dbid);
extern void dbreset_forget_maintenance_record_at_commit(Oid dbid);
extern void dbreset_forget_stale_maintenance_record(Oid dbid);

/* prepared transactions */
extern List *dbreset_list_prepared(Oid dbid, Oid other_than);
extern char *dbreset_gid_list(List *gids);
extern char *dbreset_prepared_transactions(Oid dbid, uint64 *ngids);

#endif							/* DBRESET_DBSTATE_H */
