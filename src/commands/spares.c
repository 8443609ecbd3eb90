/*-------------------------------------------------------------------------
 *
 * spares.c
 *	  dbreset.spares() and dbreset.drop_spares(): listing and dropping
 *	  spares (core/spare.c).
 *
 * IDENTIFICATION
 *	  src/commands/spares.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"

#include "compat.h"
#include "base/args.h"
#include "core/job.h"
#include "core/spare.h"

PG_FUNCTION_INFO_V1(dbreset_spares);
PG_FUNCTION_INFO_V1(dbreset_drop_spares);

/*
 * name_or_null
 *		Column col of a row is the name str, or NULL.
 */
static void
name_or_null(Datum *values, bool *nulls, int col, const char *str)
{
	nulls[col] = (str == NULL);
	if (str != NULL)
		values[col] = DirectFunctionCall1(namein, CStringGetDatum(str));
}

/*
 * dbreset.spares() RETURNS TABLE (spare name, dbname name, template name,
 *								   state text)
 *		dbreset's spares and old databases, and the makers at work, with
 *		their state (dbreset_list_spares).  Open to everyone, like
 *		pg_database.
 */
Datum
dbreset_spares(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	dbreset_init_materialized_srf(fcinfo);
	foreach(lc, dbreset_list_spares())
	{
		DbresetSpareRow *row = (DbresetSpareRow *) lfirst(lc);
		Datum		values[4];
		bool		nulls[4];

		name_or_null(values, nulls, 0, row->spare);
		name_or_null(values, nulls, 1, row->dbname);
		name_or_null(values, nulls, 2, row->template_name);
		values[3] = CStringGetTextDatum(row->state);
		nulls[3] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * dbreset.drop_spares(dbname name DEFAULT NULL) RETURNS integer
 *		Drop dbreset's spares and old databases of dbname (NULL: of every
 *		database) that the caller owns, and remove what crashed makers left;
 *		returns how many were dropped.  Each one is dropped in a transaction
 *		of its own, in a background worker.  REVOKEd from PUBLIC.
 */
Datum
dbreset_drop_spares(PG_FUNCTION_ARGS)
{
	DbresetDropSparesArgs args;
	DbresetJobHandle *job;
	StringInfoData result;
	int			ndropped = 0;
	int			nskipped = 0;

	dbreset_prevent_in_transaction_block("dbreset.drop_spares()");
	PreventCommandIfReadOnly("DROP DATABASE");
	PreventCommandDuringRecovery("DROP DATABASE");

	memset(&args, 0, sizeof(args));
	if (!PG_ARGISNULL(0))
	{
		char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);

		args.target = get_database_oid(dbname, false);
	}

	initStringInfo(&result);
	job = dbreset_job_start(&dbreset_drop_spares_job, &args, sizeof(args),
							"the drop of spares");
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		dbreset_job_release(job);
		dbreset_job_finish(job, &result);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	if (sscanf(result.data, "%d %d", &ndropped, &nskipped) != 2)
		elog(ERROR, "unexpected result of the drop-spares job: \"%s\"",
			 result.data);
	if (nskipped > 0)
		ereport(NOTICE,
				(errmsg_plural("%d spare or old database of another owner was left alone",
							   "%d spares or old databases of other owners were left alone",
							   nskipped, nskipped)));
	PG_RETURN_INT32(ndropped);
}
