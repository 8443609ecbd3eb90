/*-------------------------------------------------------------------------
 *
 * ending.c
 *	  The one way dbreset ends the sessions of a database: evict standing
 *	  workers, collect, check, describe, drain or signal, wait, report.
 *
 * Used by force_drop_database(), reset_database(), lock_database(),
 * terminate_sessions(), force_drop_databases() and a copy's wait for its
 * source.  Each caller holds (or has its worker hold) the lock that keeps
 * new sessions out; the life of a call is told in src/README.md.
 *
 * IDENTIFICATION
 *	  src/core/ending.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "base/testpoint.h"
#include "core/backends.h"
#include "core/ending.h"
#include "core/job.h"
#include "core/refusals.h"
#include "core/standing.h"

/*
 * dbreset_append_drain_detail
 *		The detail of a log line about ended sessions: who they were, how
 *		many finished their work within the grace, which prepared
 *		transactions were rolled back.
 */
void
dbreset_append_drain_detail(StringInfo buf, const DbresetEnding *ending)
{
	if (ending->nsessions > 0)
		appendStringInfo(buf, "Terminated: %s.", ending->described);
	if (ending->grace_ms > 0 && ending->nsessions > 0)
		appendStringInfo(buf, " %d of %d finished their transaction within the grace of %d ms.",
						 ending->nfinished, ending->nsessions,
						 ending->grace_ms);
	if (ending->rolled_back != NULL)
		appendStringInfo(buf, "%sRolled back prepared transactions: %s.",
						 buf->len > 0 ? " " : "", ending->rolled_back);
}

/*
 * dbreset_end_sessions
 *		End the sessions of database dbname (dbid), which the caller, or
 *		its job's worker, holds locked so that no new one arrives: check
 *		that each may be terminated (before any is signalled), describe
 *		them for the log line, give their transactions ending->grace_ms to
 *		finish, signal them and wait until they have left the ProcArray,
 *		raising 55006 naming those still there after ending->timeout_ms.
 *		For a drop, prepared transactions are looked at again once the
 *		sessions are gone: a session in its grace may have made one.
 *		Returns the number of sessions ended; ending->nsessions has it
 *		from just before the first signal on, for a caller that catches an
 *		error.
 */
int
dbreset_end_sessions(const char *dbname, Oid dbid, DbresetEnding *ending)
{
	DbresetSession *sessions;
	int			nsessions;
	int		   *remaining;
	int			nremaining;
	StringInfoData buf;

	sessions = dbreset_collect_sessions(dbid, &nsessions);
	if (ending->skip_autovacuum)
		nsessions = dbreset_without_autovacuum(sessions, nsessions);
	if (!ending->wait_only)
		dbreset_check_terminate_all(sessions, nsessions, ending->for_drop);
	if (ending->rollback_prepared)
		dbreset_check_may_roll_back(dbname, dbid, false);
	if (ending->on_checked)
		ending->on_checked(sessions, nsessions, ending->arg);

	/*
	 * dbreset's standing workers on it are no sessions (collect leaves the
	 * idle ones out; one claimed meanwhile is a session like any other):
	 * once the call is sure to go on, they leave.
	 */
	dbreset_standing_evict(dbid, ending->timeout_ms);

	/* names are read now: the sessions' status entries vanish as they exit */
	initStringInfo(&buf);
	dbreset_describe_sessions(&buf, sessions, nsessions);
	ending->described = buf.data;
	ending->rolled_back = NULL;
	ending->nsessions = nsessions;

	if (!ending->wait_only)
		ending->nfinished = dbreset_drain_sessions(sessions, nsessions,
												   ending->grace_ms);
	dbreset_test_point("ending:signalled");
	nremaining = dbreset_wait_for_exit(dbid, sessions, nsessions,
									   ending->timeout_ms, &remaining);
	if (nremaining > 0 && ending->timed_out)
		ending->timed_out(dbname, remaining, nremaining, ending);
	else if (nremaining > 0)
		dbreset_report_timeout(dbname, remaining, nremaining,
							   ending->timeout_ms, ending->undone);

	/* what a session may have prepared meanwhile, before any rollback */
	if (ending->for_drop && ending->rollback_prepared)
		dbreset_check_may_roll_back(dbname, dbid, true);
	else if (ending->for_drop)
		dbreset_check_prepared_transactions(dbname, dbid, ending->undone);

	return nsessions;
}

/*
 * dbreset_end_sessions_and_run
 *		dbreset_end_sessions(), then let the worker of job run it (a drop, a
 *		reset, a lock) and wait for its result, which is appended to
 *		result.  Returns the number of sessions ended.  The caller runs
 *		this inside its PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel).
 */
int
dbreset_end_sessions_and_run(const char *dbname, Oid dbid,
							 DbresetJobHandle *job, DbresetEnding *ending,
							 StringInfo result)
{
	int			nsessions = dbreset_end_sessions(dbname, dbid, ending);

	dbreset_job_release(job);
	dbreset_job_finish(job, result);
	return nsessions;
}
