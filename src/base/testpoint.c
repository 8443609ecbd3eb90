/*-------------------------------------------------------------------------
 *
 * testpoint.c
 *	  Test points, in test builds only (make DBRESET_TESTING=1): the
 *	  setting dbreset.test_stop_at names one point, "<operation>:<step>",
 *	  where any dbreset process that reaches it -- caller or worker --
 *	  logs that it did and waits, until it is killed or the setting is
 *	  changed.  t/018_faults.pl kills the caller, the worker or the whole
 *	  server there.  A production build has neither the setting nor any
 *	  code at the points (testpoint.h).
 *
 * IDENTIFICATION
 *	  src/base/testpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* an object file with nothing in it is not allowed by ISO C */
typedef int dbreset_testpoint_unused;

#ifdef DBRESET_TESTING

#include <signal.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/guc.h"

#include "compat.h"
#include "base/testpoint.h"

static char *test_stop_at = NULL;

/*
 * dbreset_testpoint_define_settings
 *		dbreset.test_stop_at, reloadable (SIGHUP) so that every process
 *		sees the same point and a test can move it or clear it.
 */
void
dbreset_testpoint_define_settings(void)
{
	DefineCustomStringVariable("dbreset.test_stop_at",
							   "Test builds only: the test point at which dbreset stops.",
							   "Empty: none.  A process that reaches the point "
							   "logs it and waits until the setting changes.",
							   &test_stop_at,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);
}

/*
 * stopping_at
 *		Whether dbreset.test_stop_at names this point, after a reload that
 *		is pending: a standing worker may have been handed its job before
 *		it read the test's new setting.
 */
static bool
stopping_at(const char *name)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
	return test_stop_at != NULL && strcmp(test_stop_at, name) == 0;
}

/*
 * dbreset_test_point
 *		If dbreset.test_stop_at names this point: log it, then wait on the
 *		latch until the setting names another.  The process may be in the
 *		middle of anything, so it reads the configuration again itself (a
 *		background worker that ignores SIGHUP is given the handler, and
 *		reads it once more first: a reload it ignored may have cleared the
 *		point).
 *		Interrupts are processed as anywhere else -- a cancel only where
 *		the code does not hold cancels -- and the postmaster's death ends
 *		the process.
 */
void
dbreset_test_point(const char *name)
{
	if (!stopping_at(name))
		return;

	if (MyBackendType == B_BG_WORKER)
	{
		pqsignal(SIGHUP, SignalHandlerForConfigReload);
		/* a reload signalled before the handler was there went unseen */
		ConfigReloadPending = true;
		if (!stopping_at(name))
			return;
	}
	ereport(LOG,
			(errmsg("dbreset test point \"%s\" reached by PID %d",
					name, MyProcPid)));
	while (stopping_at(name))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	ereport(LOG,
			(errmsg("dbreset test point \"%s\" left by PID %d",
					name, MyProcPid)));
}

#endif							/* DBRESET_TESTING */
