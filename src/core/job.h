/*-------------------------------------------------------------------------
 *
 * job.h
 *	  Running a job in a background worker's own transaction (job.c).
 *
 * IDENTIFICATION
 *	  src/core/job.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_JOB_H
#define DBRESET_JOB_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "postmaster/bgworker.h"
#include "storage/lockdefs.h"

/*
 * A job: what a call hands to a worker, run inside the worker's own
 * top-level transaction, with the caller's identity, once the caller has
 * released it; it may append a result to "result", which the caller
 * receives after the worker committed.  Define one with DBRESET_JOB(): the
 * worker finds it by its symbol, so the job core names no command.
 */
typedef struct DbresetJob
{
	const char *symbol;			/* the name of this object */
	const char *name;			/* shown as the worker's activity */
	void		(*run) (const void *args, StringInfo result);
} DbresetJob;

#define DBRESET_JOB(var, activity, runfn) \
	extern PGDLLEXPORT const DbresetJob var; \
	const DbresetJob var = {#var, activity, runfn}

typedef struct DbresetJobHandle DbresetJobHandle;

/* caller side */
extern DbresetJobHandle *dbreset_job_start(const DbresetJob *kind,
										   const void *args, Size args_len,
										   const char *description);
extern DbresetJobHandle *dbreset_job_start_in(Oid database_id,
											  const DbresetJob *kind,
											  const void *args,
											  Size args_len,
											  const char *description);
extern void dbreset_job_update_args(DbresetJobHandle *job,
									const void *args, Size args_len);
extern Oid	dbreset_job_take_lock(DbresetJobHandle *job, const char *dbname,
								  Oid dbid, LOCKMODE mode, int timeout_ms,
								  bool handed);
extern Oid	dbreset_job_lock_database(DbresetJobHandle *job,
									  const char *dbname, Oid dbid,
									  LOCKMODE mode, int timeout_ms);
extern Oid	dbreset_job_hand_over_lock(DbresetJobHandle *job,
									   const char *dbname, Oid dbid,
									   LOCKMODE mode, int timeout_ms);
extern Oid	dbreset_job_lock_existing_database(DbresetJobHandle *job,
											   const char *dbname, Oid dbid,
											   LOCKMODE mode, int timeout_ms);
extern void dbreset_job_release(DbresetJobHandle *job);
extern void dbreset_job_finish(DbresetJobHandle *job, StringInfo result);
extern void dbreset_job_cancel(int code, Datum arg);
extern void dbreset_job_abandon(DbresetJobHandle *job);

/* worker side */
extern void dbreset_init_worker(BackgroundWorker *worker,
								const char *function, const char *type,
								int extra_flags);
extern void dbreset_job_point_of_no_return(void);
extern void dbreset_job_leave_point_of_no_return(void);
extern void dbreset_job_recover(void);
extern void dbreset_job_next_transaction(void);
extern int	dbreset_job_caller_encoding(void);
extern void dbreset_job_hold_lock(Oid classid, Oid objid, uint16 objsubid,
								  LOCKMODE mode);

#endif							/* DBRESET_JOB_H */
