/*-------------------------------------------------------------------------
 *
 * ending.h
 *	  The one sequence that ends the sessions of a database (ending.c).
 *
 * IDENTIFICATION
 *	  src/core/ending.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_ENDING_H
#define DBRESET_ENDING_H

#include "lib/stringinfo.h"

#include "core/backends.h"
#include "core/job.h"

typedef struct DbresetEnding DbresetEnding;

/*
 * How dbreset_end_sessions() ends the sessions of a database, and what it
 * reports back for the caller's log line.
 */
struct DbresetEnding
{
	int			timeout_ms;		/* for the sessions to exit */
	int			grace_ms;		/* for work in flight to finish first */
	bool		for_drop;		/* WITH (FORCE)'s permission rules, not
								 * pg_terminate_backend()'s; prepared
								 * transactions looked at again after */
	bool		rollback_prepared;	/* a drop that rolls them back */
	bool		wait_only;		/* signal nobody: wait (a copy's source) */
	bool		skip_autovacuum;	/* left to CREATE DATABASE (a copy) */
	const char *undone;			/* for a timeout: "The database was not
								 * dropped." */
	/* once the sessions are checked, before any is signalled */
	void		(*on_checked) (const DbresetSession *sessions, int nsessions,
							   void *arg);
	/* sessions still there after the timeout; NULL: 55006 naming them */
	void		(*timed_out) (const char *dbname, const int *pids, int npids,
							  const DbresetEnding *ending);
	void	   *arg;			/* for the two callbacks */
	/* out */
	int			nsessions;		/* ended, set just before the first signal */
	char	   *described;		/* who they were, for the log line */
	int			nfinished;		/* finished their work within the grace */
	char	   *rolled_back;	/* gids rolled back, NULL if none */
};

extern int	dbreset_end_sessions(const char *dbname, Oid dbid,
								 DbresetEnding *ending);
extern int	dbreset_end_sessions_and_run(const char *dbname, Oid dbid,
										 DbresetJobHandle *job,
										 DbresetEnding *ending,
										 StringInfo result);
extern void dbreset_append_drain_detail(StringInfo buf,
										const DbresetEnding *ending);

#endif							/* DBRESET_ENDING_H */
