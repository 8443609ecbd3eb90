/*-------------------------------------------------------------------------
 *
 * dbreset.h
 *	  Declarations shared by dbreset's source files.
 *
 * IDENTIFICATION
 *	  src/dbreset.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_H
#define DBRESET_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "utils/timestamp.h"

/* GUC variables (dbreset.c) */
extern char *dbreset_protected_databases;
extern bool dbreset_use_force_option;

/* Argument checks shared by the SQL-callable functions (dbreset.c) */
extern char *dbreset_get_dbname_arg(FunctionCallInfo fcinfo, int argno);
extern int	dbreset_get_timeout_arg(FunctionCallInfo fcinfo, int argno);
extern void dbreset_check_not_protected(const char *dbname);
extern void dbreset_prevent_in_transaction_block(const char *what);

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

/* sessions.c */
extern DbresetSession *dbreset_collect_sessions(Oid dbid, int *nsessions);
extern bool dbreset_may_terminate(const DbresetSession *session);
extern void dbreset_check_terminate_all(const DbresetSession *sessions,
										int nsessions, bool for_drop);
extern void dbreset_signal_sessions(const DbresetSession *sessions,
									int nsessions);
extern int	dbreset_wait_for_exit(Oid dbid, const DbresetSession *sessions,
								  int nsessions, int timeout_ms,
								  int **remaining);
extern void dbreset_report_timeout(const char *dbname, const int *pids,
								   int npids, int timeout_ms, bool dropping);
extern void dbreset_describe_sessions(StringInfo buf,
									  const DbresetSession *sessions,
									  int nsessions);

/*
 * Jobs run by the background worker core (worker.c).  A job runs inside
 * the worker's own top-level transaction, with the caller's identity, once
 * the caller has released it; it may append a result to "result", which
 * the caller receives after the worker committed.
 */
typedef enum DbresetJobKind
{
	DBRESET_JOB_DROP = 1
} DbresetJobKind;

typedef struct DbresetJob
{
	const char *name;			/* shown as the worker's activity */
	void		(*run) (const void *args, StringInfo result);
} DbresetJob;

typedef struct DbresetJobHandle DbresetJobHandle;

extern DbresetJobHandle *dbreset_job_start(DbresetJobKind kind,
										   const void *args, Size args_len,
										   const char *description);
extern void dbreset_job_release(DbresetJobHandle *job);
extern void dbreset_job_finish(DbresetJobHandle *job, StringInfo result);
extern void dbreset_job_cancel(int code, Datum arg);
extern void dbreset_job_point_of_no_return(void);

/* drop.c */
extern const DbresetJob dbreset_drop_job;

#endif							/* DBRESET_H */
