/*-------------------------------------------------------------------------
 *
 * blockers.c
 *	  dbreset.drop_blockers(): every reason a force_drop_database() by the
 *	  current user would fail now, changing nothing.
 *
 * STUB: to be written (issue 8).
 *
 * IDENTIFICATION
 *	  src/blockers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_drop_blockers);

char *
dbreset_blockers_summary(const char *dbname, Oid dbid, int *nsessions)
{
	(void) dbname;
	(void) dbid;
	*nsessions = 0;
	return NULL;
}

Datum
dbreset_drop_blockers(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	elog(ERROR, "not yet");
	PG_RETURN_NULL();
}
