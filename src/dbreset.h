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
#include "nodes/pg_list.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/lockdefs.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

/* GUC variables (dbreset.c) */
extern char *dbreset_protected_databases;
extern bool dbreset_use_force_option;

/* Argument checks shared by the SQL-callable functions (dbreset.c) */
extern char *dbreset_get_dbname_arg(FunctionCallInfo fcinfo, int argno);
extern int	dbreset_get_timeout_arg(FunctionCallInfo fcinfo, int argno);
extern int	dbreset_get_grace_arg(FunctionCallInfo fcinfo, int argno);
extern bool dbreset_get_bool_arg(FunctionCallInfo fcinfo, int argno,
								 const char *argname, bool absent);
extern bool dbreset_is_protected(const char *dbname, const char *protected);
extern void dbreset_check_not_protected(const char *dbname,
										const char *protected);
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
extern void dbreset_describe_sessions(StringInfo buf,
									  const DbresetSession *sessions,
									  int nsessions);
extern void dbreset_describe_session_owner(StringInfo buf,
										   const DbresetSession *session);

/*
 * Jobs run by the background worker core (worker.c).  A job runs inside
 * the worker's own top-level transaction, with the caller's identity, once
 * the caller has released it; it may append a result to "result", which
 * the caller receives after the worker committed.
 */
typedef enum DbresetJobKind
{
	DBRESET_JOB_DROP = 1,
	DBRESET_JOB_RESET,
	DBRESET_JOB_COPY,
	DBRESET_JOB_DROP_SPARES,
	DBRESET_JOB_LOCK,
	DBRESET_JOB_ROLLBACK_PREPARED,
	DBRESET_JOB_DROP_MANY
} DbresetJobKind;

typedef struct DbresetJob
{
	const char *name;			/* shown as the worker's activity */
	void		(*run) (const void *args, StringInfo result);
} DbresetJob;

typedef struct DbresetJobHandle DbresetJobHandle;

extern void dbreset_init_worker(BackgroundWorker *worker,
								const char *function, const char *type,
								int extra_flags);
extern DbresetJobHandle *dbreset_job_start(DbresetJobKind kind,
										   const void *args, Size args_len,
										   const char *description);
extern DbresetJobHandle *dbreset_job_start_in(Oid database_id,
											  DbresetJobKind kind,
											  const void *args,
											  Size args_len,
											  const char *description);
extern void dbreset_job_update_args(DbresetJobHandle *job,
									const void *args, Size args_len);
extern Oid	dbreset_job_take_lock(DbresetJobHandle *job, const char *dbname,
								  Oid dbid, LOCKMODE mode, int timeout_ms,
								  bool handed);
extern void dbreset_job_release(DbresetJobHandle *job);
extern void dbreset_job_finish(DbresetJobHandle *job, StringInfo result);
extern void dbreset_job_cancel(int code, Datum arg);
extern void dbreset_job_abandon(DbresetJobHandle *job);
extern void dbreset_job_point_of_no_return(void);
extern void dbreset_job_leave_point_of_no_return(void);
extern void dbreset_job_recover(void);
extern void dbreset_job_next_transaction(void);
extern int	dbreset_job_caller_encoding(void);
extern void dbreset_job_hold_lock(Oid classid, Oid objid, uint16 objsubid,
								  LOCKMODE mode);

/* dblock.c */
extern Oid	dbreset_acquire_database_lock(const char *dbname, LOCKMODE mode,
										  int timeout_ms);
extern Oid	dbreset_lock_existing_database(const char *dbname, LOCKMODE mode,
										   int timeout_ms);
extern Oid	dbreset_relock_database(const char *dbname, Oid dbid,
									LOCKMODE mode, int timeout_ms);
extern Oid	dbreset_job_lock_database(DbresetJobHandle *job,
									  const char *dbname, Oid dbid,
									  LOCKMODE mode, int timeout_ms);
extern Oid	dbreset_job_lock_existing_database(DbresetJobHandle *job,
											   const char *dbname, Oid dbid,
											   LOCKMODE mode, int timeout_ms);

/* drop.c */
extern const DbresetJob dbreset_drop_job;
extern void dbreset_check_droppable(const char *dbname, Oid dbid,
									bool rollback_prepared);
extern void dbreset_run_drop_database(const char *dbname, bool use_force);

/*
 * How dbreset_terminate_and_run() ends the sessions of a database, and
 * what it reports back for the caller's log line.
 */
typedef struct DbresetTerminateOptions
{
	int			timeout_ms;		/* for the sessions to exit */
	int			grace_ms;		/* for work in flight to finish first */
	bool		for_drop;		/* permission rules: FORCE, not
								 * pg_terminate_backend() */
	bool		rollback_prepared;	/* ROLLBACK PREPARED first (a drop) */
	const char *undone;			/* for a timeout: "The database was not
								 * dropped." */
	/* out */
	char	   *described;		/* the sessions, for the log line */
	int			nfinished;		/* finished their work within the grace */
	char	   *rolled_back;	/* gids rolled back, NULL if none */
} DbresetTerminateOptions;

extern int	dbreset_end_sessions(const char *dbname, Oid dbid,
								 DbresetTerminateOptions *options);
extern int	dbreset_terminate_and_run(const char *dbname, Oid dbid,
									  DbresetJobHandle *job,
									  DbresetTerminateOptions *options,
									  StringInfo result);
extern char *dbreset_prepared_transactions(Oid dbid, uint64 *ngids);
extern const DbresetJob dbreset_rollback_prepared_job;
extern void dbreset_append_drain_detail(StringInfo buf, int nsessions,
										const DbresetTerminateOptions *options);

/*
 * What a reset keeps of a database (props.c): read before the drop, given
 * back after the create.
 */
typedef struct DbresetDbProps
{
	Oid			oid;
	Oid			owner;
	Oid			tablespace;
	int32		connlimit;
	bool		allowconn;
	bool		istemplate;
	bool		locked;			/* closed by dbreset.lock_database() */
	char	   *locale_options; /* CREATE DATABASE options, per major */
	Acl		   *acl;			/* NULL: the defaults */
	char	   *comment;		/* NULL: none */
	List	   *labels;			/* of DbresetLabel */
	List	   *settings;		/* of DbresetSetting */
} DbresetDbProps;

/* props.c */
extern DbresetDbProps *dbreset_read_db_props(Oid dbid, MemoryContext cxt);
extern void dbreset_hold_props_roles(const DbresetDbProps *props);
extern void dbreset_apply_db_props(Oid dbid, const DbresetDbProps *props);
extern void dbreset_seal_database(Oid dbid);
extern char *dbreset_database_comment(Oid dbid, TransactionId *xmin);

/*
 * Arguments of the reset and copy jobs, copied into the worker's segment.
 * For a reset, dbname is the database reset from source; for a clone or a
 * snapshot, it is the new database.
 */
typedef struct DbresetCopyArgs
{
	NameData	dbname;
	Oid			dbid;			/* reset: locked by the caller */
	NameData	source;
	Oid			source_id;		/* ShareLock held by the caller */
	bool		use_force;		/* reset: DROP ... WITH (FORCE) */
	bool		seal;			/* snapshot: a sealed template */
	/* the caller's settings that choose how to copy (copy.c) */
	int			file_copy_threshold;	/* kB */
	bool		file_copy_clone;	/* 18+: file_copy_method = clone */
} DbresetCopyArgs;

/* copy.c */
extern int	dbreset_file_copy_threshold;
extern void dbreset_copy_settings(DbresetCopyArgs *args);
extern Oid	dbreset_lock_source(const char *srcname, int timeout_ms);
extern Oid	dbreset_find_source(const char *srcname);
extern void dbreset_check_locked_source(const char *srcname, Oid srcid);
extern Oid	dbreset_job_lock_source(DbresetJobHandle *job, const char *srcname,
									Oid srcid, int timeout_ms);
extern void dbreset_check_source(const char *srcname, Oid srcid);
extern void dbreset_check_copy_into(const char *srcname, Oid srcid,
									const char *dbname, Oid dbid);
extern void dbreset_wait_for_source(const char *srcname, Oid srcid,
									int timeout_ms, bool terminate,
									const char *hint);
extern char *dbreset_create_statement(const DbresetCopyArgs *args,
									  const DbresetDbProps *props,
									  Oid oid, StringInfo how);
extern void dbreset_run_create(const DbresetCopyArgs *args, const char *sql);
extern void dbreset_run_utility(const char *sql);
extern const DbresetJob dbreset_copy_job;

/* clone.c */
extern void dbreset_copy_database(const char *what, const char *srcname,
								  const char *target, bool terminate,
								  int timeout_ms, bool seal);

/* spare.c */
extern const DbresetJob dbreset_drop_spares_job;
extern const char *dbreset_spare_state(Oid spare, Oid template_id,
									   Oid target);
extern void dbreset_let_go_of_spare(Oid target, Oid spare);
extern Oid	dbreset_find_spare(Oid target, Oid template_id, int timeout_ms,
							   const char **why);
extern void dbreset_swap_spare(const char *dbname, Oid target, Oid spare);
extern bool dbreset_has_spares(Oid target);
extern bool dbreset_template_is_sealed(Oid dbid);
extern void dbreset_start_spare_worker(Oid target, Oid former_target,
									   Oid template_id,
									   const DbresetCopyArgs *settings);

/* reset.c */
extern const DbresetJob dbreset_reset_job;

/*
 * Maintenance mode (lock.c).  What a database's sessions() rows and
 * drop_blockers() say of it.
 */
typedef enum DbresetDatabaseState
{
	DBRESET_DB_OPEN,			/* connections allowed */
	DBRESET_DB_LOCKED,			/* closed by dbreset.lock_database() */
	DBRESET_DB_CLOSED,			/* ALLOW_CONNECTIONS false otherwise */
	DBRESET_DB_INVALID			/* an interrupted DROP DATABASE */
} DbresetDatabaseState;

/* lock.c */
extern const DbresetJob dbreset_lock_job;
extern DbresetDatabaseState dbreset_database_state(Oid dbid);
extern const char *dbreset_database_state_name(DbresetDatabaseState state);
extern void dbreset_keep_lock(Oid dbid);
extern void dbreset_forget_lock(Oid dbid);
extern void dbreset_forget_lock_at_commit(Oid dbid);

/* blockers.c */
extern char *dbreset_blockers_summary(const char *dbname, Oid dbid,
									  int *nsessions);

/* pool.c */
extern int	dbreset_worker_idle_timeout;
extern int	dbreset_max_idle_workers;
extern void dbreset_pool_define(void);
extern bool dbreset_pool_claim(dsm_handle job, PGPROC **proc, int *pid);
extern int *dbreset_pool_idle_pids(Oid dbid, int *npids);
extern void dbreset_pool_evict(Oid dbid, int timeout_ms);
extern bool dbreset_pool_offer(void);
extern bool dbreset_pool_wait_for_job(dsm_handle *job);

/* bulk.c */
extern const DbresetJob dbreset_drop_many_job;

#endif							/* DBRESET_H */
