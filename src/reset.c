/*-------------------------------------------------------------------------
 *
 * reset.c
 *	  dbreset.reset_database(): drop a database and create it again from a
 *	  template, in one call, keeping what DROP + CREATE loses.
 *
 * The caller, in its own transaction, as for a drop (drop.c):
 *
 *	1. locks the database in AccessExclusiveLock mode (new connections
 *	   wait) and makes every check DROP DATABASE would make;
 *	2. locks the template in ShareLock mode, as CREATE DATABASE does (new
 *	   connections to it wait too), and makes every check CREATE DATABASE
 *	   ... TEMPLATE ... OWNER ... would make of the new database, then
 *	   waits for the template's own sessions to leave (copy.c);
 *	3. terminates the database's sessions, waits for them to leave and
 *	   releases the worker.
 *
 * The worker, in the caller's lock group, holds both locks for the whole
 * job (session locks, across its transactions), reads what DROP + CREATE
 * would lose (props.c), and then runs, each committed before the next:
 * DROP DATABASE; CREATE DATABASE ... TEMPLATE ... OWNER ... (with the old
 * tablespace, encoding and locale, connections not allowed yet, and on 15+
 * the old OID); and the kept properties -- ACL, connection limit, flags,
 * comment, security labels, settings.  The drop is the point of no return.
 *
 * Keeping the OID means that a client that connected during the reset,
 * and waited on the database's lock, lands in the new database once the
 * lock is released: InitPostgres re-reads the row by OID and finds it
 * under the same name.  Before 15 the new database has a new OID, and such
 * a client gets "database does not exist".  A client whose look-up of the
 * name falls between the DROP's and the CREATE's commits gets it on every
 * major.
 *
 * IDENTIFICATION
 *	  src/reset.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "compat.h"
#include "dbreset.h"

PG_FUNCTION_INFO_V1(dbreset_reset_database);

/*
 * reset_job_run
 *		The reset job, in the worker: drop args->dbname and create it again
 *		from args->source with everything props.c reads.  The result is the
 *		strategy line for the caller's log.
 *
 *		Should the create fail once the drop has committed, the database is
 *		gone: the error says so, with the reason as its detail and the
 *		original SQLSTATE.
 */
static void
reset_job_run(const void *argp, StringInfo result)
{
	const DbresetCopyArgs *args = (const DbresetCopyArgs *) argp;
	const char *dbname = NameStr(args->dbname);
	MemoryContext jobcxt;
	DbresetDbProps *props;
	Oid			keep_oid = InvalidOid;
	char	   *sql;
	Oid			newid;

	/* held across the job's transactions, in the caller's lock group */
	dbreset_job_hold_database_lock(args->dbid, AccessExclusiveLock);
	dbreset_job_hold_database_lock(args->source_id, ShareLock);

	/* what the drop would lose, read before anything is changed */
	jobcxt = AllocSetContextCreate(TopMemoryContext, "dbreset reset",
								   ALLOCSET_DEFAULT_SIZES);
	props = dbreset_read_db_props(args->dbid, jobcxt);
#ifdef DBRESET_HAVE_CREATEDB_OID
	/* OIDs below FirstNormalObjectId are for initdb and pg_upgrade only */
	if (args->dbid >= FirstNormalObjectId)
		keep_oid = args->dbid;
#endif
	{
		MemoryContext oldcontext = MemoryContextSwitchTo(jobcxt);

		sql = dbreset_create_statement(args, props, keep_oid, result);
		MemoryContextSwitchTo(oldcontext);
	}

	dbreset_job_point_of_no_return();
	dbreset_run_drop_database(dbname, args->use_force);
	dbreset_job_next_transaction();

	PG_TRY();
	{
		dbreset_run_utility(sql);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(jobcxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->detail = edata->detail ?
			psprintf("%s %s", edata->message, edata->detail) :
			edata->message;
		edata->message = psprintf("database \"%s\" was dropped but could not be created again from template \"%s\"",
								  dbname, NameStr(args->source));
		edata->hint = psprintf("Create it with: %s", sql);
		ReThrowError(edata);
	}
	PG_END_TRY();

	dbreset_job_next_transaction();
	newid = get_database_oid(dbname, false);
	dbreset_apply_db_props(newid, props);
}

const DbresetJob dbreset_reset_job = {
	.name = "dbreset: reset database",
	.run = reset_job_run,
};

/*
 * dbreset.reset_database(dbname name, template name,
 *						  keep_spare boolean DEFAULT false,
 *						  timeout interval DEFAULT '5s')
 *		RETURNS integer
 *
 *		Drop dbname and create it again from template, terminating its
 *		sessions, keeping its owner, ACL, comment, settings and the rest;
 *		returns how many sessions were terminated.  Needs what
 *		force_drop_database() needs and what CREATE DATABASE ... TEMPLATE
 *		... OWNER would need.  Not transactional: refused in a transaction
 *		block.  REVOKEd from PUBLIC.
 */
Datum
dbreset_reset_database(PG_FUNCTION_ARGS)
{
	DbresetCopyArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	char	   *srcname;
	bool		keep_spare = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	int			timeout_ms = dbreset_get_timeout_arg(fcinfo, 3);
	Oid			dbid;
	Oid			srcid;
	int			nterminated;
	char	   *described;
	StringInfoData how;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("template name must not be null")));
	srcname = NameStr(*PG_GETARG_NAME(1));

	dbreset_prevent_in_transaction_block("dbreset.reset_database()");
	PreventCommandIfReadOnly("DROP DATABASE");
	PreventCommandDuringRecovery("DROP DATABASE");
	dbreset_check_not_protected(dbname);

	if (keep_spare)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("keep_spare is not supported yet")));

	if (strcmp(dbname, srcname) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database \"%s\" cannot be reset from itself", dbname),
				 errhint("Take a snapshot with dbreset.snapshot_database() and reset from that.")));

	dbid = dbreset_lock_database(dbname, AccessExclusiveLock, timeout_ms);
	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	dbreset_check_droppable(dbname, dbid);

	srcid = dbreset_lock_source(srcname, timeout_ms);
	dbreset_check_copy_into(srcname, srcid, dbname, dbid);
	dbreset_wait_for_source(srcname, srcid, timeout_ms, false,
							"Reset from a template nobody connects to, such as one made by dbreset.snapshot_database().");

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.dbid = dbid;
	namestrcpy(&args.source, srcname);
	args.source_id = srcid;
	args.use_force = dbreset_use_force_option;
	dbreset_copy_settings(&args);

	initStringInfo(&how);
	nterminated = dbreset_terminate_and_run(dbname, dbid, DBRESET_JOB_RESET,
											&args, sizeof(args),
											psprintf("the reset of database \"%s\"", dbname),
											timeout_ms, &described, &how);

	/* created and committed: waiting connections may now go in */
	UnlockSharedObject(DatabaseRelationId, srcid, 0, ShareLock);
	UnlockSharedObject(DatabaseRelationId, dbid, 0, AccessExclusiveLock);

	ereport(LOG,
			(errmsg_plural("role \"%s\" reset database \"%s\" from template \"%s\" after terminating %d session",
						   "role \"%s\" reset database \"%s\" from template \"%s\" after terminating %d sessions",
						   nterminated,
						   GetUserNameFromId(GetUserId(), false), dbname,
						   srcname, nterminated),
			 nterminated > 0 ?
			 errdetail_internal("%s Terminated: %s.", how.data, described) :
			 errdetail_internal("%s", how.data)));

	PG_RETURN_INT32(nterminated);
}
