/*-------------------------------------------------------------------------
 *
 * backends.h
 *	  The sessions of a database: listing, permission, signals, waits (backends.c).
 *
 * IDENTIFICATION
 *	  src/core/backends.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_BACKENDS_H
#define DBRESET_BACKENDS_H

#include "lib/stringinfo.h"
#include "pgstat.h"
#include "storage/proc.h"

/*
 * One session connected to a database, as seen in the ProcArray and (when
 * it still has one) its backend status entry.  "status" points into the
 * backend status snapshot and is NULL for a backend that has already
 * cleared its entry on the way out.
 */
typedef struct DbresetSession
{
	PGPROC	   *proc;
	int			pid;
	Oid			databaseId;
	Oid			roleId;
	bool		is_autovacuum;
	PgBackendStatus *status;
} DbresetSession;

/*
 * dbreset_proc_is_live
 *		Whether proc still belongs to the process with this pid.  A backend
 *		owns its PGPROC's latch from InitProcess() until ProcKill(), which
 *		comes after it has left the ProcArray; a PGPROC on the free list
 *		keeps its last pid (before 17) and database, but its latch has no
 *		owner.  So this is true for every process in the ProcArray, and
 *		stays true only a few microseconds longer than DROP DATABASE counts
 *		it: it never calls a process gone that a DROP would still see.
 *		O(1), and needs no lock.
 */
static inline bool
dbreset_proc_is_live(PGPROC *proc, int pid)
{
	return pid != 0 && proc->pid == pid && proc->procLatch.owner_pid == pid;
}

extern DbresetSession *dbreset_collect_sessions(Oid dbid, int *nsessions);
extern int	dbreset_without_autovacuum(DbresetSession *sessions,
									   int nsessions);
extern bool dbreset_may_terminate(const DbresetSession *session);
extern const char *dbreset_terminate_refusal(const DbresetSession *session,
											 bool for_drop);
extern void dbreset_check_terminate_all(const DbresetSession *sessions,
										int nsessions, bool for_drop);
extern void dbreset_signal_sessions(const DbresetSession *sessions,
									int nsessions);
extern int	dbreset_drain_sessions(const DbresetSession *sessions,
								   int nsessions, int grace_ms);
extern int	dbreset_wait_for_exit(Oid dbid, const DbresetSession *sessions,
								  int nsessions, int timeout_ms,
								  int **remaining);
extern void dbreset_report_timeout(const char *dbname, const int *pids,
								   int npids, int timeout_ms,
								   const char *undone);
extern const char *dbreset_session_backend_type(const DbresetSession *s);
extern void dbreset_describe_sessions(StringInfo buf,
									  const DbresetSession *sessions,
									  int nsessions);
extern void dbreset_describe_session_owner(StringInfo buf,
										   const DbresetSession *session);

#endif							/* DBRESET_BACKENDS_H */
