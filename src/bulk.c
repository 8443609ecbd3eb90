/*-------------------------------------------------------------------------
 *
 * bulk.c
 *	  dbreset.force_drop_databases(): force-drop every database whose name
 *	  matches a pattern, one background worker for the whole batch.
 *
 * STUB: to be written (issue 8).
 *
 * IDENTIFICATION
 *	  src/bulk.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_force_drop_databases);

static void
drop_many_job_run(const void *argp, StringInfo result)
{
	(void) argp;
	(void) result;
}

const DbresetJob dbreset_drop_many_job = {
	.name = "dbreset: drop databases",
	.run = drop_many_job_run,
};

Datum
dbreset_force_drop_databases(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	elog(ERROR, "not yet");
	PG_RETURN_NULL();
}
