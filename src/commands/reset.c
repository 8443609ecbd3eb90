/*-------------------------------------------------------------------------
 *
 * reset.c
 *	  dbreset.reset_database(): drop a database and create it again from a
 *	  template, keeping its owner, grants, comment, limits, settings and
 *	  (15+) its OID; with keep_spare, a ready spare is swapped in instead.
 *
 * Two paths: swap_in_spare() (renames in the caller's transaction) and
 * copy_in_worker() (DROP and CREATE in the worker, which takes the
 * database's and the template's locks itself).  See src/README.md.
 *
 * IDENTIFICATION
 *	  src/commands/reset.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "compat.h"
#include "base/args.h"
#include "base/dblock.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/copy.h"
#include "core/ending.h"
#include "core/job.h"
#include "core/props.h"
#include "core/refusals.h"
#include "core/spare.h"

PG_FUNCTION_INFO_V1(dbreset_reset_database);

/*
 * rethrow_as
 *		In a PG_CATCH of the reset job, past its point of no return: re-throw
 *		the error with message (what state the database is in) in front,
 *		the original message and detail as its detail, and hint; SQLSTATE
 *		kept.  Called in a memory context that survives FlushErrorState(),
 *		in which message and hint were allocated.
 */
static void
rethrow_as(char *message, char *hint)
{
	ErrorData  *edata = CopyErrorData();

	FlushErrorState();
	edata->detail = edata->detail ?
		psprintf("%s %s", edata->message, edata->detail) :
		edata->message;
	edata->message = message;
	edata->hint = hint;
	ReThrowError(edata);
}

/* what create_again() gives back once CREATE DATABASE has returned */
typedef struct GiveBack
{
	const char *dbname;
	const DbresetDbProps *props;
	bool		created;
	Oid			oid;			/* the new database's */
} GiveBack;

/* give_back: in the CREATE's transaction, what the database kept */
static void
give_back(void *arg)
{
	GiveBack   *gb = (GiveBack *) arg;

	gb->created = true;
	gb->oid = get_database_oid(gb->dbname, false);
	dbreset_test_point("reset:created");
	dbreset_apply_db_props(gb->oid, gb->props);
}

/*
 * create_again
 *		The second half of the reset job, once the DROP has committed: the
 *		CREATE statement sql and what the database kept (props), in one
 *		transaction, committed -- a crash before that commit leaves the
 *		database gone, never a copy without its grants and settings, and
 *		an error removes the copy's files (dbreset_run_create).  On 15+
 *		the copy's OID (keep_oid) is recorded first, so that its files do
 *		not outlive a crash either (dbreset_record_copy); what earlier
 *		crashes left goes first.  Either failing, the error says that the
 *		database is gone.  Errors are caught in jobcxt.  Returns the new
 *		database's OID.
 */
static Oid
create_again(const DbresetCopyArgs *args, const char *sql,
			 const DbresetDbProps *props, Oid keep_oid, MemoryContext jobcxt)
{
	const char *dbname = NameStr(args->dbname);
	char	   *volatile record = NULL;
	volatile GiveBack gb = {dbname, props, false, InvalidOid};

	(void) dbreset_remove_crashed_copies(InvalidOid);
#ifdef DBRESET_HAVE_CREATEDB_OID
	/* keep_oid is valid or was chosen by reset_job_run: always recorded */
	record = MemoryContextStrdup(jobcxt,
								 dbreset_record_copy(args->dbid, keep_oid,
													 props->tablespace));
#else
	(void) keep_oid;
#endif
	PG_TRY();
	{
		dbreset_run_create(args, sql, give_back, (void *) &gb);
	}
	PG_CATCH();
	{
		const char *hint = props->allowconn ?
			"Create it with: %s, then give back its grants, comment and settings and allow connections to it." :
			"Create it with: %s, then give back its grants, comment and settings.";

		MemoryContextSwitchTo(jobcxt);
		rethrow_as(psprintf(gb.created ?
							"database \"%s\" was dropped but could not be created again from template \"%s\" with what it kept" :
							"database \"%s\" was dropped but could not be created again from template \"%s\"",
							dbname, NameStr(args->source)),
				   psprintf(hint, sql));
	}
	PG_END_TRY();
	dbreset_job_next_transaction();
	dbreset_forget_copy_record((const char *) record);
	return gb.oid;
}

/*
 * reset_job_run
 *		The reset job, in the worker: drop args->dbname and create it again
 *		from args->source with everything props.c reads.  The result is the
 *		new database's OID, then the strategy line for the caller's log.
 *
 *		Should the create, or giving back what the database kept, fail once
 *		the drop has committed, the database is gone: the error says so,
 *		with the reason as its detail and the original SQLSTATE.
 */
static void
reset_job_run(const void *argp, StringInfo result)
{
	const DbresetCopyArgs *args = (const DbresetCopyArgs *) argp;
	const char *dbname = NameStr(args->dbname);
	MemoryContext jobcxt;
	DbresetDbProps *props;
	Oid			keep_oid = InvalidOid;
	Oid			created;
	char	   *sql;
	StringInfoData how;

	/*
	 * Held across the job's transactions: the worker took the first two
	 * already.  The name's lock keeps whoever looks the name up between
	 * the DROP's commit and the CREATE's waiting, rather than finding no
	 * database (dbreset_get_database_oid).
	 */
	dbreset_job_hold_lock(DatabaseRelationId, args->dbid, 0,
						  AccessExclusiveLock);
	dbreset_job_hold_lock(DatabaseRelationId, args->source_id, 0, ShareLock);
	dbreset_job_hold_lock(DatabaseRelationId, dbreset_name_lock_id(dbname),
						  DBRESET_NAME_LOCK_SUBID, ExclusiveLock);

	/* what the drop would lose, read before anything is changed */
	jobcxt = AllocSetContextCreate(TopMemoryContext, "dbreset reset",
								   ALLOCSET_DEFAULT_SIZES);
	props = dbreset_read_db_props(args->dbid, jobcxt);

	/*
	 * Everything the create needs, checked again now that we hold the
	 * locks and act for the caller: owner and template may have changed
	 * since the caller's checks (ALTER DATABASE ... OWNER, IS_TEMPLATE
	 * false take no lock on the database), and nothing may fail after the
	 * drop that could have been seen before it.  The roles whose rows we
	 * give back are locked against DROP ROLE until we are done.
	 */
	dbreset_check_source(NameStr(args->source), args->source_id);
	dbreset_check_copy_into(NameStr(args->source), args->source_id, dbname,
							args->dbid);
	dbreset_hold_props_roles(props);
#ifdef DBRESET_HAVE_CREATEDB_OID
	/* OIDs below FirstNormalObjectId are for initdb and pg_upgrade only */
	if (args->dbid >= FirstNormalObjectId)
		keep_oid = args->dbid;
	else
	{
		/* initdb's databases get a new OID, chosen here to be recorded */
		keep_oid = dbreset_new_database_oid();
	}
#endif
	{
		MemoryContext oldcontext = MemoryContextSwitchTo(jobcxt);

		initStringInfo(&how);
		sql = dbreset_create_statement(args, props, keep_oid, &how);
		MemoryContextSwitchTo(oldcontext);
	}

	dbreset_job_point_of_no_return();
	dbreset_test_point("reset:before_drop");
	dbreset_run_drop_database(dbname, args->use_force);
	dbreset_test_point("reset:dropped");
	dbreset_job_next_transaction();
	dbreset_test_point("reset:before_create");

	created = create_again(args, sql, props, keep_oid, jobcxt);
	appendBinaryStringInfo(result, (const char *) &created, sizeof(Oid));
	appendBinaryStringInfo(result, how.data, how.len);

	/* a standing worker goes on to other jobs */
	MemoryContextDelete(jobcxt);
}

DBRESET_JOB(dbreset_reset_job, "dbreset: reset database", reset_job_run);

/*
 * swap_in_spare
 *		keep_spare with a sealed template: swap in the spare of it made
 *		after the last reset, in the caller's transaction (spare.c).  The
 *		spare is found first (dbreset_find_spare, which locks it); then the
 *		database and the template are locked as DROP and CREATE DATABASE
 *		lock them, everything is checked again, the database's sessions
 *		end as for a drop (dbreset_end_sessions) and the spare takes its
 *		place.  No worker, no copy, no DROP on the way; the swap commits
 *		with the caller's statement.  Returns the number of sessions
 *		terminated (options says who they were), or -1 with a NOTICE that
 *		says why no spare was used: the caller then copies, and holds none
 *		of these locks.
 */
static int
swap_in_spare(const char *dbname, Oid dbid, const char *srcname, Oid srcid,
			  DbresetEnding *options)
{
	const char *why = NULL;
	Oid			spare = dbreset_find_spare(dbid, srcid, options->timeout_ms,
										   &why);

	if (OidIsValid(spare))
	{
		Oid			lockedid = dbreset_lock_existing_database(dbname,
															  AccessExclusiveLock,
															  options->timeout_ms);
		Oid			locked_srcid;

		dbreset_check_droppable(dbname, lockedid, false);
		locked_srcid = dbreset_lock_source(srcname, options->timeout_ms);
		dbreset_check_copy_into(srcname, locked_srcid, dbname, lockedid);
		if (lockedid != dbid || locked_srcid != srcid)
			why = "the database or the template was replaced meanwhile";
		else
			why = dbreset_spare_state(spare, srcid, dbid);
		if (why == NULL)
		{
			int			nsessions = dbreset_end_sessions(dbname, dbid, options);

			dbreset_swap_spare(dbname, dbid, spare);
			return nsessions;
		}
		/* the copy's worker takes these afresh */
		UnlockSharedObject(DatabaseRelationId, locked_srcid, 0, ShareLock);
		UnlockSharedObject(DatabaseRelationId, lockedid, 0,
						   AccessExclusiveLock);
		dbreset_let_go_of_spare(dbid, spare);
	}
	ereport(NOTICE,
			(errmsg("no spare of template \"%s\" was used for database \"%s\": %s",
					srcname, dbname, why),
			 errdetail("The database is copied from the template.")));
	return -1;
}

/*
 * copy_in_worker
 *		The reset by copy: the worker takes the database's lock and then
 *		the template's, itself and first -- nothing is handed over, so
 *		connections that queue behind it wait for the end of the reset and,
 *		on 15+, land in the new database (same OID) -- everything is checked
 *		again, the template's sessions are waited for, and the database's
 *		sessions end as for a drop before the worker runs the reset job.
 *		Returns the number of sessions terminated; *dbid is the OID of the
 *		database the worker dropped, *created that of the one it created
 *		(both committed), how says how the copy was made.
 */
static int
copy_in_worker(const char *dbname, Oid *dbid, Oid *created,
			   const char *srcname, DbresetCopyArgs *args,
			   DbresetEnding *options, StringInfo how)
{
	DbresetJobHandle *job;
	int			nterminated;

	job = dbreset_job_start(&dbreset_reset_job, args, sizeof(*args),
							psprintf("the reset of database \"%s\"", dbname));
	PG_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));
	{
		Oid			srcid;

		*dbid = dbreset_job_lock_database(job, dbname, *dbid,
										  AccessExclusiveLock,
										  options->timeout_ms);
		if (!OidIsValid(*dbid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("database \"%s\" does not exist", dbname)));
		srcid = dbreset_job_lock_source(job, srcname, args->source_id,
										options->timeout_ms);
		dbreset_check_droppable(dbname, *dbid, false);
		dbreset_check_locked_source(srcname, srcid);
		dbreset_check_copy_into(srcname, srcid, dbname, *dbid);
		args->dbid = *dbid;
		args->source_id = srcid;
		dbreset_job_update_args(job, args, sizeof(*args));

		dbreset_wait_for_source(srcname, srcid, options->timeout_ms, false,
								"Reset from a template nobody connects to, such as one made by dbreset.snapshot_database().");
		nterminated = dbreset_end_sessions_and_run(dbname, *dbid, job, options,
												how);
	}
	PG_END_ENSURE_ERROR_CLEANUP(dbreset_job_cancel, PointerGetDatum(job));

	/* the job's result: the new OID, then how (reset_job_run) */
	*created = InvalidOid;
	if (how->len >= (int) sizeof(Oid))
	{
		memcpy(created, how->data, sizeof(Oid));
		memmove(how->data, how->data + sizeof(Oid), how->len - sizeof(Oid) + 1);
		how->len -= sizeof(Oid);
	}
	return nterminated;
}

/*
 * log_reset
 *		The LOG line of a reset: who, what, from which template, whom it
 *		terminated, and how the copy was made.
 */
static void
log_reset(const char *dbname, const char *srcname, int nterminated,
		  const char *how, const DbresetEnding *options)
{
	StringInfoData detail;

	initStringInfo(&detail);
	appendStringInfo(&detail, "%s ", how);
	dbreset_append_drain_detail(&detail, options);
	ereport(LOG,
			(errmsg_plural("role \"%s\" reset database \"%s\" from template \"%s\" after terminating %d session",
						   "role \"%s\" reset database \"%s\" from template \"%s\" after terminating %d sessions",
						   nterminated,
						   GetUserNameFromId(GetUserId(), false), dbname,
						   srcname, nterminated),
			 errdetail_internal("%s", detail.data)));
}

/*
 * dbreset.reset_database(dbname name, template name,
 *						  keep_spare boolean DEFAULT false,
 *						  timeout interval DEFAULT '5s',
 *						  grace interval DEFAULT '0')
 *		RETURNS integer
 *
 *		Drop dbname and create it again from template, terminating its
 *		sessions, keeping its owner, ACL, comment, settings and the rest;
 *		returns how many sessions were terminated.  Needs what
 *		force_drop_database() needs and what CREATE DATABASE ... TEMPLATE
 *		... OWNER would need.  Not transactional: refused in a transaction
 *		block.  REVOKEd from PUBLIC.
 *
 *		keep_spare: swap in the spare copy of template made after the last
 *		reset, if it is ready and still a copy of the template as it is now
 *		(else copy, with a NOTICE saying why); then have the next spare
 *		made in the background.  Without it, spares kept earlier for dbname
 *		are dropped in the background.
 *
 *		grace: sessions inside a transaction get that long to finish it
 *		before they are terminated.
 */
Datum
dbreset_reset_database(PG_FUNCTION_ARGS)
{
	DbresetCopyArgs args;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	char	   *srcname = dbreset_get_name_arg(fcinfo, 1, "template name");
	bool		keep_spare = dbreset_get_bool_arg(fcinfo, 2, "keep_spare", false);
	Oid			dbid;
	Oid			srcid;
	Oid			newid;
	int			nterminated;
	DbresetEnding options;
	StringInfoData how;
	bool		sealed;

	memset(&options, 0, sizeof(options));
	options.timeout_ms = dbreset_get_timeout_arg(fcinfo, 3);
	options.grace_ms = dbreset_get_grace_arg(fcinfo, 4);
	options.for_drop = true;
	options.undone = _("The database was not reset.");

	dbreset_prevent_in_transaction_block("dbreset.reset_database()");
	PreventCommandIfReadOnly("DROP DATABASE");
	PreventCommandDuringRecovery("DROP DATABASE");
	dbreset_check_not_protected(dbname, dbreset_protected_databases);

	if (strcmp(dbname, srcname) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database \"%s\" cannot be reset from itself", dbname),
				 errhint("Take a snapshot with dbreset.snapshot_database() and reset from that.")));

	/*
	 * What DROP and CREATE DATABASE would refuse, in their order, before
	 * anything is locked or started; all of it is checked again once the
	 * locks are held (by us for a swap, by the worker for a copy).
	 */
	dbid = dbreset_get_existing_database_oid(dbname, options.timeout_ms);
	dbreset_check_droppable(dbname, dbid, false);
	srcid = dbreset_find_source(srcname, options.timeout_ms);
	dbreset_check_locked_source(srcname, srcid);
	dbreset_check_copy_into(srcname, srcid, dbname, dbid);

	memset(&args, 0, sizeof(args));
	namestrcpy(&args.dbname, dbname);
	args.dbid = dbid;
	namestrcpy(&args.source, srcname);
	args.source_id = srcid;
	args.use_force = dbreset_use_force_option;
	dbreset_copy_settings(&args);

	sealed = dbreset_template_is_sealed(srcid);
	if (keep_spare && !sealed)
		ereport(NOTICE,
				(errmsg("template \"%s\" allows connections, so no spare of it is kept",
						srcname),
				 errdetail("The database is copied from the template."),
				 errhint("Seal the template with ALTER DATABASE %s ALLOW_CONNECTIONS false, or reset from a snapshot made by dbreset.snapshot_database().",
						 quote_identifier(srcname))));
	else if (keep_spare &&
			 (nterminated = swap_in_spare(dbname, dbid, srcname, srcid,
										  &options)) >= 0)
	{
		Oid			spare = get_database_oid(dbname, false);

		/* drop the old one, make the next spare: after our commit */
		dbreset_start_spare_worker(spare, dbid, srcid, &args);
		log_reset(dbname, srcname, nterminated,
				  "Swapped in a spare made earlier.", &options);
		PG_RETURN_INT32(nterminated);
	}

	initStringInfo(&how);
	nterminated = copy_in_worker(dbname, &dbid, &newid, srcname, &args,
								 &options, &how);
	log_reset(dbname, srcname, nterminated, how.data, &options);

	/*
	 * Make the next spare, unless the template can never have one; or drop
	 * what an earlier keep_spare left.  Before 15 the database has a new
	 * OID, and spares of the old one go too.  (A drop by someone else
	 * since our reset takes the spares with it.)  The new OID comes from
	 * the job, not from a look-up of the name: nothing may fail or wait
	 * now that our reset has committed, and the name may already be
	 * between a later reset's DROP and its CREATE.
	 */
	if (!OidIsValid(newid))
		PG_RETURN_INT32(nterminated);
	if (keep_spare && sealed)
		dbreset_start_spare_worker(newid, dbid, args.source_id, &args);
	else if (dbreset_has_spares(newid) ||
			 (newid != dbid && dbreset_has_spares(dbid)))
		dbreset_start_spare_worker(newid, dbid, InvalidOid, &args);

	PG_RETURN_INT32(nterminated);
}
