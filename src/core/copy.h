/*-------------------------------------------------------------------------
 *
 * copy.h
 *	  CREATE DATABASE from a template: checks, strategy, the copy job (copy.c).
 *
 * IDENTIFICATION
 *	  src/core/copy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_COPY_H
#define DBRESET_COPY_H

#include "lib/stringinfo.h"

#include "core/job.h"
#include "core/props.h"

/*
 * Arguments of the reset and copy jobs, copied into the worker's segment.
 * For a reset, dbname is the database reset from source; for a clone or a
 * snapshot, it is the new database.
 */
typedef struct DbresetCopyArgs
{
	NameData	dbname;
	Oid			dbid;			/* reset: locked by the worker */
	NameData	source;
	Oid			source_id;		/* ShareLock held by the worker */
	bool		use_force;		/* reset: DROP ... WITH (FORCE) */
	bool		seal;			/* snapshot: a sealed template */
	/* the caller's settings that choose how to copy */
	int			file_copy_threshold;	/* kB */
	bool		file_copy_clone;	/* 18+: file_copy_method = clone */
} DbresetCopyArgs;

/* where copies being made are recorded (15+): dbreset_record_copy() */
#define DBRESET_CREATING_DIR	"pg_dbreset"

/* a spare maker's lock: its target's database object, sub-object 1 */
#define DBRESET_MAKER_LOCK_SUBID 1

extern PGDLLEXPORT const DbresetJob dbreset_copy_job;

extern void dbreset_copy_define_settings(void);
extern void dbreset_copy_settings(DbresetCopyArgs *args);
extern Oid	dbreset_lock_source(const char *srcname, int timeout_ms);
extern Oid	dbreset_find_source(const char *srcname, int timeout_ms);
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
extern void dbreset_run_create(const DbresetCopyArgs *args, const char *sql,
							   void (*then) (void *), void *arg);
#ifdef DBRESET_HAVE_CREATEDB_OID
extern Oid	dbreset_new_database_oid(void);
extern char *dbreset_record_copy(Oid target, Oid oid, Oid spcid);
#endif
extern void dbreset_forget_copy_record(const char *record);
extern int	dbreset_remove_crashed_copies(Oid target);

#endif							/* DBRESET_COPY_H */
