/*-------------------------------------------------------------------------
 *
 * copy.c
 *	  CREATE DATABASE from a template, for reset, clone and snapshot: the
 *	  checks createdb() makes, made before anything is dropped; the wait
 *	  for the source's sessions; the choice of strategy (WAL_LOG, or
 *	  FILE_COPY from dbreset.file_copy_threshold on, 15+; 18+ clones with
 *	  file_copy_method = clone); and the copy job.
 *
 * IDENTIFICATION
 *	  src/core/copy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/catalog.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_tablespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/dbcommands_xlog.h"
#include "commands/tablespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/md.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "base/dblock.h"
#include "base/dbstate.h"
#include "base/utility.h"
#include "base/testpoint.h"
#include "core/copy.h"
#include "core/ending.h"
#include "core/job.h"
#include "core/props.h"

/* dbreset.file_copy_threshold: source size (kB) from which FILE_COPY is used */
static int	dbreset_file_copy_threshold = 100 * 1024;

/*
 * dbreset_copy_define_settings
 *		Define dbreset.file_copy_threshold.
 */
void
dbreset_copy_define_settings(void)
{
	DefineCustomIntVariable("dbreset.file_copy_threshold",
							"Size of a source database from which copies "
							"use the FILE_COPY strategy rather than WAL_LOG.",
							"WAL_LOG writes every block through the WAL and "
							"wins for small databases; FILE_COPY costs two "
							"checkpoints and wins for large ones. PostgreSQL "
							"15 and later.",
							&dbreset_file_copy_threshold,
							100 * 1024,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/*
 * check_collation_version
 *		createdb()'s check that the collation version recorded for the
 *		source is the one the operating system provides now (15+): after
 *		an upgrade of the C library or ICU, core refuses to copy it.  Made
 *		here, so that a reset is refused before anything is dropped.
 */
static void
check_collation_version(const char *srcname, Oid srcid)
{
#ifdef DBRESET_HAVE_DATCOLLVERSION
	Oid			argtypes[1] = {OIDOID};
	Datum		argvalues[1];
	char	   *recorded;
	char	   *actual;
	MemoryContext callercxt = CurrentMemoryContext;

	argvalues[0] = ObjectIdGetDatum(srcid);
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT datcollversion, "
							  "pg_catalog.pg_database_collation_actual_version(oid) "
							  "FROM pg_catalog.pg_database WHERE oid = $1",
							  1, argtypes, argvalues, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the collation version of database %u",
			 srcid);
	recorded = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	actual = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	/* out of SPI's memory, which SPI_finish() frees */
	recorded = recorded ? MemoryContextStrdup(callercxt, recorded) : NULL;
	actual = actual ? MemoryContextStrdup(callercxt, actual) : NULL;
	SPI_finish();
	PopActiveSnapshot();

	if (recorded == NULL)
		return;
	if (actual == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("template database \"%s\" has a collation version, but no actual collation version could be determined",
						srcname)));
	if (strcmp(recorded, actual) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("template database \"%s\" has a collation version mismatch",
						srcname),
				 errdetail("The template database was created using collation version %s, but the operating system provides version %s.",
						   recorded, actual),
				 errhint("Rebuild all objects in the template database that use the default collation and run ALTER DATABASE %s REFRESH COLLATION VERSION, or build PostgreSQL with the right library version.",
						 quote_identifier(srcname))));
#else
	(void) srcname;
	(void) srcid;
#endif
}

/*
 * dbreset_check_source
 *		What createdb() checks of its source once it has locked it, in its
 *		order and with its messages: CREATEDB, a source that is a template
 *		or the caller's own, not an invalid one, with the collation version
 *		it recorded.  Run by the caller, and again by the reset job before
 *		its point of no return.
 */
void
dbreset_check_source(const char *srcname, Oid srcid)
{
	HeapTuple	tup;
	Form_pg_database src;

	if (!dbreset_have_createdb_privilege())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create database")));

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(srcid));
	if (!HeapTupleIsValid(tup) ||
		strcmp(NameStr(((Form_pg_database) GETSTRUCT(tup))->datname),
			   srcname) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", srcname)));
	src = (Form_pg_database) GETSTRUCT(tup);

	/* a source that is not a template may be copied by its owner only */
	if (!src->datistemplate &&
		!dbreset_database_ownercheck(srcid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to copy database \"%s\"",
						srcname)));

	if (dbreset_database_is_invalid(src))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot use invalid database \"%s\" as template",
						srcname),
				 errhint("Use DROP DATABASE to drop invalid databases.")));
	ReleaseSysCache(tup);

	check_collation_version(srcname, srcid);
}

/*
 * dbreset_lock_source
 *		Check that the current user may run CREATE DATABASE ... TEMPLATE
 *		srcname, in createdb()'s order and with its messages, and take the
 *		ShareLock createdb() takes on the source, bounded by timeout_ms.
 *		New connections to the source wait from now on.  Returns the
 *		source's OID.
 *
 *		A source that is the caller's own database is refused: the caller
 *		is one of its sessions, and CREATE DATABASE runs in another process
 *		that would count it.
 */
Oid
dbreset_lock_source(const char *srcname, int timeout_ms)
{
	Oid			srcid;

	(void) dbreset_find_source(srcname, timeout_ms);
	srcid = dbreset_acquire_database_lock(srcname, ShareLock, timeout_ms);
	if (!OidIsValid(srcid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", srcname)));
	dbreset_check_locked_source(srcname, srcid);
	return srcid;
}

/*
 * dbreset_find_source
 *		dbreset_lock_source() without the lock, for a call whose worker
 *		takes it (dbreset_job_take_lock): the CREATEDB check and the look-up
 *		of the source's OID, "does not exist" if there is none.  The caller
 *		runs dbreset_check_locked_source() once the worker holds the lock.
 */
Oid
dbreset_find_source(const char *srcname, int timeout_ms)
{
	Oid			srcid;

	if (!dbreset_have_createdb_privilege())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create database")));

	srcid = dbreset_get_database_oid(srcname, timeout_ms);
	if (!OidIsValid(srcid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", srcname)));
	return srcid;
}

/*
 * dbreset_job_lock_source
 *		Have the worker of job take the source's ShareLock itself
 *		(dbreset_job_take_lock, nothing handed over), looking the name up
 *		again if it was dropped and created anew meanwhile, as
 *		dbreset_acquire_database_lock() does.  Returns the source's OID;
 *		"does not exist" if there is no longer any.  The caller then runs
 *		dbreset_check_locked_source().
 */
Oid
dbreset_job_lock_source(DbresetJobHandle *job, const char *srcname,
						Oid srcid, int timeout_ms)
{
	srcid = dbreset_job_lock_database(job, srcname, srcid, ShareLock,
									  timeout_ms);
	if (!OidIsValid(srcid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", srcname)));
	return srcid;
}

/*
 * dbreset_check_locked_source
 *		The rest of dbreset_lock_source()'s checks, with the source locked:
 *		dbreset_check_source(), and the caller's own database refused.
 */
void
dbreset_check_locked_source(const char *srcname, Oid srcid)
{
	dbreset_check_source(srcname, srcid);

	if (srcid == MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot copy the currently open database"),
				 errdetail("CREATE DATABASE runs in a background worker, for which this session is another user of database \"%s\".",
						   srcname),
				 errhint("Connect to another database and call the function from there.")));
}

/*
 * directory_is_empty_or_missing
 *		Whether path has no entries besides "." and "..", or does not exist.
 */
static bool
directory_is_empty_or_missing(const char *path)
{
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	bool		empty = true;

	if (dir == NULL)
		return true;
	while ((de = ReadDir(dir, path)) != NULL)
	{
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
		{
			empty = false;
			break;
		}
	}
	FreeDir(dir);
	return empty;
}

/*
 * dbreset_check_copy_into
 *		The checks CREATE DATABASE makes of what a reset gives the new
 *		database -- the owner, tablespace, encoding and locale of database
 *		dbid -- made before anything is dropped.  Core would copy a template
 *		into other encoding or locale settings only from template0; we pass
 *		them only when they differ from the source's, and refuse otherwise.
 */
void
dbreset_check_copy_into(const char *srcname, Oid srcid,
						const char *dbname, Oid dbid)
{
	HeapTuple	srctup;
	HeapTuple	dbtup;
	Form_pg_database src;
	Form_pg_database db;
	char	   *src_locale;
	char	   *db_locale;

	/* looked at unlocked too (reset.c): either may be gone by now */
	srctup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(srcid));
	if (!HeapTupleIsValid(srctup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", srcname)));
	dbtup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(dbtup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));
	src = (Form_pg_database) GETSTRUCT(srctup);
	db = (Form_pg_database) GETSTRUCT(dbtup);

	/* CREATE DATABASE ... OWNER */
	if (db->datdba != GetUserId())
		dbreset_check_can_own(db->datdba);

	/* CREATE DATABASE ... TABLESPACE, given when it differs */
	if (db->dattablespace != src->dattablespace)
	{
		AclResult	aclresult = dbreset_tablespace_aclcheck(db->dattablespace,
															GetUserId(),
															ACL_CREATE);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, OBJECT_TABLESPACE,
						   get_tablespace_name(db->dattablespace));

		/* createdb(): the source must have no files there already */
		if (!directory_is_empty_or_missing(GetDatabasePath(srcid,
														   db->dattablespace)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot assign new default tablespace \"%s\"",
							get_tablespace_name(db->dattablespace)),
					 errdetail("There is a conflict because database \"%s\" already has some tables in this tablespace.",
							   srcname)));
	}

	src_locale = dbreset_locale_options(srctup);
	db_locale = dbreset_locale_options(dbtup);
	if (strcmp(src_locale, db_locale) != 0 &&
		strcmp(srcname, "template0") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database \"%s\" has other encoding or locale settings than template \"%s\"",
						dbname, srcname),
				 errdetail("Database \"%s\" has%s; template \"%s\" has%s.",
						   dbname, db_locale, srcname, src_locale),
				 errhint("Reset it from a template with the same settings, or from template0.")));

	ReleaseSysCache(srctup);
	ReleaseSysCache(dbtup);
}

/* What a copy's timeout report needs to know (source_timed_out) */
typedef struct SourceWait
{
	bool		terminate;
	const char *hint;
} SourceWait;

/*
 * source_timed_out
 *		The copy's report of sessions still on its source after the
 *		timeout: CREATE DATABASE's message (DbresetEnding.timed_out).
 */
static void
source_timed_out(const char *srcname, const int *pids, int npids,
				 const DbresetEnding *ending)
{
	const SourceWait *wait = (const SourceWait *) ending->arg;
	StringInfoData list;
	int			i;

	initStringInfo(&list);
	for (i = 0; i < npids; i++)
		appendStringInfo(&list, "%s%d", i > 0 ? ", " : "", pids[i]);

	if (wait->terminate)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("source database \"%s\" is being accessed by other users",
						srcname),
				 errdetail_plural("Process %s was sent the signal to terminate but is still connected after %d ms. Nothing was copied.",
								  "Processes %s were sent the signal to terminate but are still connected after %d ms. Nothing was copied.",
								  npids, list.data, ending->timeout_ms)));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("source database \"%s\" is being accessed by other users",
					srcname),
			 errdetail_plural("Process %s is still connected after %d ms. Nothing was copied or dropped.",
							  "Processes %s are still connected after %d ms. Nothing was copied or dropped.",
							  npids, list.data, ending->timeout_ms),
			 wait->hint ? errhint("%s", wait->hint) : 0));
}

/*
 * dbreset_wait_for_source
 *		With the source locked in ShareLock mode (no new sessions), see its
 *		existing sessions leave within timeout_ms -- ending them first
 *		when asked to, with what pg_terminate_backend() would require
 *		(dbreset_end_sessions) -- so that CREATE DATABASE finds nobody
 *		there.  Prepared transactions on the source are refused at once.
 *		Autovacuum workers are left to CREATE DATABASE, which stops them
 *		itself.
 */
void
dbreset_wait_for_source(const char *srcname, Oid srcid, int timeout_ms,
						bool terminate, const char *hint)
{
	SourceWait	wait;
	DbresetEnding ending;
	uint64		ngids;
	char	   *gids;

	gids = dbreset_prepared_transactions(srcid, &ngids);
	if (ngids > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("source database \"%s\" is being accessed by other users",
						srcname),
				 errdetail_plural("Prepared transaction %s uses the database.",
								  "Prepared transactions %s use the database.",
								  (unsigned long) ngids, gids),
				 errhint("Commit or roll them back with COMMIT PREPARED or ROLLBACK PREPARED.")));

	wait.terminate = terminate;
	wait.hint = hint;
	memset(&ending, 0, sizeof(ending));
	ending.timeout_ms = timeout_ms;
	ending.wait_only = !terminate;
	ending.skip_autovacuum = true;
	ending.timed_out = source_timed_out;
	ending.arg = &wait;
	(void) dbreset_end_sessions(srcname, srcid, &ending);
}

/*
 * database_size
 *		The size in bytes of the files of database dbid in its default
 *		tablespace: what a copy of it has to write.  Files that vanish
 *		while we look (a checkpoint's unlinks) are skipped.
 */
static int64
database_size(Oid dbid, Oid spcid)
{
	char	   *path = GetDatabasePath(dbid, spcid);
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	int64		size = 0;

	while ((de = ReadDir(dir, path)) != NULL)
	{
		char		filename[MAXPGPATH];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(filename, sizeof(filename), "%s/%s", path, de->d_name);
		if (stat(filename, &st) == 0)
			size += st.st_size;
	}
	FreeDir(dir);
	return size;
}

/*
 * dbreset_copy_settings
 *		Caller side: record the caller's settings that decide how the worker
 *		copies -- the worker starts from the role's and database's settings,
 *		not from the caller's session -- so that SET in the session works.
 */
void
dbreset_copy_settings(DbresetCopyArgs *args)
{
	args->file_copy_threshold = dbreset_file_copy_threshold;
	args->file_copy_clone = dbreset_file_copy_is_clone();
}

/*
 * choose_strategy
 *		The CREATE DATABASE strategy for copying source srcid (15+), or NULL
 *		where the major has only one; *how says which and why, for the log.
 *		Worker side: with file_copy_method = clone in the caller's session,
 *		the worker's CREATE DATABASE clones too (dbreset_run_create).
 */
static const char *
choose_strategy(const DbresetCopyArgs *args, Oid src_spcid, bool reuses_oid,
				StringInfo how)
{
	int64		size = database_size(args->source_id, src_spcid);
	const char *strategy = NULL;

#ifdef DBRESET_HAVE_CREATEDB_STRATEGY
	if (args->file_copy_clone)
		strategy = "FILE_COPY";
	else if (reuses_oid && !XLogIsNeeded())
	{
		/*
		 * With wal_level = minimal, WAL_LOG writes no WAL for the blocks it
		 * copies; a crash before the next checkpoint would replay the DROP
		 * of the old database -- the same OID, the same directory -- over
		 * the new one's files and leave empty tables.  FILE_COPY ends with
		 * a checkpoint, after which nothing before it is replayed.
		 */
		strategy = "FILE_COPY";
		appendStringInfo(how, "Copied with strategy FILE_COPY (wal_level = minimal and the database keeps its OID).");
		return strategy;
	}
	else if (size >= (int64) args->file_copy_threshold * 1024)
		strategy = "FILE_COPY";
	else
		strategy = "WAL_LOG";
	appendStringInfo(how, "Copied with strategy %s (source %s%s).", strategy,
					 text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
																		Int64GetDatum(size)))),
					 args->file_copy_clone ?
					 ", file_copy_method = clone" : "");
#else
	(void) reuses_oid;
	appendStringInfo(how, "Copied file by file (source %s).",
					 text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
																		Int64GetDatum(size)))));
#endif
	return strategy;
}

/*
 * dbreset_create_statement
 *		The CREATE DATABASE statement that makes args->dbname a copy of
 *		args->source.  With props (a reset), the new database gets the old
 *		one's owner, tablespace, encoding and locale, and -- when oid is
 *		valid -- its OID; it is created with connections not allowed until
 *		the rest of props is applied.  A sealed copy (a snapshot) is a
 *		template nobody may connect to.  A valid oid is given on 15+
 *		(dbreset_record_copy).  *how gets the strategy, for the log.
 */
char *
dbreset_create_statement(const DbresetCopyArgs *args,
						 const DbresetDbProps *props, Oid oid, StringInfo how)
{
	StringInfoData sql;
	HeapTuple	srctup;
	Form_pg_database src;
	const char *strategy;

	srctup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(args->source_id));
	if (!HeapTupleIsValid(srctup))
		elog(ERROR, "cache lookup failed for database %u", args->source_id);
	src = (Form_pg_database) GETSTRUCT(srctup);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE DATABASE %s TEMPLATE %s",
					 quote_identifier(NameStr(args->dbname)),
					 quote_identifier(NameStr(args->source)));

	if (props)
	{
		char	   *src_locale = dbreset_locale_options(srctup);

		appendStringInfo(&sql, " OWNER %s",
						 quote_identifier(GetUserNameFromId(props->owner,
															false)));
		if (props->tablespace != src->dattablespace)
			appendStringInfo(&sql, " TABLESPACE %s",
							 quote_identifier(get_tablespace_name(props->tablespace)));
		if (strcmp(src_locale, props->locale_options) != 0)
			appendStringInfoString(&sql, props->locale_options);
		appendStringInfo(&sql, " CONNECTION LIMIT %d ALLOW_CONNECTIONS false",
						 props->connlimit);
	}
	else if (args->seal)
		appendStringInfoString(&sql, " IS_TEMPLATE true ALLOW_CONNECTIONS false");
#ifdef DBRESET_HAVE_CREATEDB_OID
	if (OidIsValid(oid))
		appendStringInfo(&sql, " OID %u", oid);
#else
	(void) oid;
#endif

	strategy = choose_strategy(args, src->dattablespace,
							   props && OidIsValid(oid) && oid == props->oid,
							   how);
	if (strategy)
		appendStringInfo(&sql, " STRATEGY %s", strategy);

	ReleaseSysCache(srctup);
	return sql.data;
}

/*
 * creating_path
 *		The file in which a copy is recorded before it is created:
 *		pg_dbreset/creating.<target>.<oid>.<tablespace>, target being the
 *		database it is made for (a spare's, a reset's) or the copy itself
 *		(a clone, a snapshot).
 */
static char *
creating_path(Oid target, Oid oid, Oid spcid)
{
	return psprintf("%s/creating.%u.%u.%u", DBRESET_CREATING_DIR, target, oid, spcid);
}

/*
 * database_directories
 *		The tablespaces in which database OID oid has a directory, as
 *		createdb() and remove_dbtablespaces() look for them.
 */
static List *
database_directories(Oid oid)
{
	Relation	rel = table_open(TableSpaceRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0,
										  NULL);
	HeapTuple	tup;
	List	   *spcs = NIL;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Oid			spcid = ((Form_pg_tablespace) GETSTRUCT(tup))->oid;
		struct stat st;

		if (spcid != GLOBALTABLESPACE_OID &&
			lstat(GetDatabasePath(oid, spcid), &st) == 0)
			spcs = lappend_oid(spcs, spcid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return spcs;
}

/*
 * remove_copy_files
 *		Remove the directories of database OID oid, which no database has,
 *		in every tablespace -- a copy writes into each tablespace its
 *		template has files in, not only its default one -- as
 *		remove_dbtablespaces() does, WAL-logged the same way (before the
 *		files go), so that a standby, which replayed the copy's CREATE,
 *		removes them too: else a later database given this OID would be
 *		replayed there over the stale files.  Returns whether any was
 *		there.
 */
static bool
remove_copy_files(Oid oid)
{
	List	   *spcs = database_directories(oid);
	ListCell   *lc;

	if (spcs == NIL)
		return false;

	/*
	 * As createdb_failure_callback() does: a copy that failed after CREATE
	 * DATABASE returned may still have dirty buffers and fsync requests
	 * for its files.
	 */
	DropDatabaseBuffers(oid);
	ForgetDatabaseSyncRequests(oid);
	{
		xl_dbase_drop_rec xlrec;
		Oid		   *ids = palloc(list_length(spcs) * sizeof(Oid));
		int			n = 0;

		foreach(lc, spcs)
			ids[n++] = lfirst_oid(lc);
		xlrec.db_id = oid;
		xlrec.ntablespaces = n;
		XLogBeginInsert();
		XLogRegisterData((char *) &xlrec, MinSizeOfDbaseDropRec);
		XLogRegisterData((char *) ids, n * sizeof(Oid));
		XLogFlush(XLogInsert(RM_DBASE_ID,
							 XLOG_DBASE_DROP | XLR_SPECIAL_REL_UPDATE));
	}
	foreach(lc, spcs)
	{
		char	   *dbpath = GetDatabasePath(oid, lfirst_oid(lc));

		if (!rmtree(dbpath, true))
			ereport(WARNING,
					(errmsg("some useless files may be left behind in old database directory \"%s\"",
							dbpath)));
		else
			ereport(LOG,
					(errmsg("dbreset removed the files of a copy whose making was interrupted, in \"%s\"",
							dbpath)));
	}
	return true;
}

/*
 * dbreset_remove_crashed_copies
 *		Remove the files of copies whose maker died in a crash before it
 *		committed -- a spare's, a reset's, a clone's or a snapshot's: those
 *		recorded in pg_dbreset/ for target (InvalidOid: for any) whose
 *		target's spare maker is not at work (its lock can be had) and whose
 *		OID no database has.  Returns how many.
 *
 *		pg_database is locked in ShareLock mode meanwhile: CREATE DATABASE
 *		holds RowExclusiveLock on it from choosing its OID until it
 *		commits, so no CREATE DATABASE that might have taken the recorded
 *		OID can be under way while we look and remove.  If one is, we do
 *		nothing now rather than wait (and make others wait behind us).
 *
 *		The record also covers a maker whose transaction aborted after
 *		CREATE DATABASE returned (an error in the comment or the commit),
 *		where createdb()'s own cleanup no longer runs: its buffers and
 *		fsync requests go with its files, as in createdb's cleanup.
 */
int
dbreset_remove_crashed_copies(Oid target)
{
	DIR		   *dir = AllocateDir(DBRESET_CREATING_DIR);
	struct dirent *de;
	int			nremoved = 0;
	bool		locked = false;

	if (dir == NULL)
		return 0;				/* nothing was ever recorded */

	while ((de = ReadDir(dir, DBRESET_CREATING_DIR)) != NULL)
	{
		unsigned int t,
					oid,
					spc;
		char	   *path;
		LOCKTAG		tag;

		if (sscanf(de->d_name, "creating.%u.%u.%u", &t, &oid, &spc) != 3)
			continue;
		if (OidIsValid(target) && t != target)
			continue;

		/*
		 * Best effort, retried by the next call: never make CREATE, ALTER
		 * or DROP DATABASE queue behind us while a long copy runs.
		 */
		if (!locked)
		{
			if (!ConditionalLockRelationOid(DatabaseRelationId, ShareLock))
				break;
			locked = true;
		}

		/* a maker at work on it (ours, if we are one, is granted again) */
		SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, t,
						   DBRESET_MAKER_LOCK_SUBID);
		if (LockAcquire(&tag, ExclusiveLock, false, true) ==
			LOCKACQUIRE_NOT_AVAIL)
			continue;

		path = creating_path(t, oid, spc);
		if (!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(oid)) &&
			remove_copy_files(oid))
			nremoved++;
		if (unlink(path) != 0 && errno != ENOENT)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove file \"%s\": %m", path)));
		LockRelease(&tag, ExclusiveLock, false);
	}
	FreeDir(dir);
	if (locked)
		UnlockRelationOid(DatabaseRelationId, ShareLock);
	return nremoved;
}

#ifdef DBRESET_HAVE_CREATEDB_OID
/*
 * oid_has_directory
 *		Whether a directory for database OID oid exists in any tablespace,
 *		as createdb() checks for an OID given to it (check_db_file_conflict).
 */
static bool
oid_has_directory(Oid oid)
{
	return database_directories(oid) != NIL;
}

/*
 * dbreset_new_database_oid
 *		An OID for a database about to be created, as createdb() picks one:
 *		unused, with no directory in any tablespace.  pg_database stays
 *		locked in RowExclusiveLock mode until the end of the transaction,
 *		as by CREATE DATABASE, so that dbreset_remove_crashed_copies() does
 *		nothing meanwhile.
 */
Oid
dbreset_new_database_oid(void)
{
	Relation	rel = table_open(DatabaseRelationId, RowExclusiveLock);
	Oid			oid;

	do
	{
		oid = GetNewOidWithIndex(rel, DatabaseOidIndexId,
								 Anum_pg_database_oid);
	} while (oid_has_directory(oid));
	table_close(rel, NoLock);
	return oid;
}

/*
 * dbreset_record_copy
 *		Before CREATE DATABASE ... OID oid: record, durably, that database
 *		oid is being made in tablespace spcid for target, so that the next
 *		call removes its files should a crash come before the commit, or
 *		should the transaction abort once CREATE DATABASE has returned
 *		(createdb()'s own cleanup no longer runs then).  pg_database is
 *		locked in RowExclusiveLock mode first, until the end of the
 *		transaction (see dbreset_remove_crashed_copies).  Returns the
 *		record's path, for dbreset_forget_copy_record() after the commit.
 */
char *
dbreset_record_copy(Oid target, Oid oid, Oid spcid)
{
	char	   *record;
	int			fd;

	table_close(table_open(DatabaseRelationId, RowExclusiveLock), NoLock);
	if (MakePGDirectory(DBRESET_CREATING_DIR) == 0)
		fsync_fname(".", true);
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m",
						DBRESET_CREATING_DIR)));
	record = creating_path(target, oid, spcid);
	fd = OpenTransientFile(record, O_CREAT | O_WRONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", record)));
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", record)));
	CloseTransientFile(fd);
	fsync_fname(DBRESET_CREATING_DIR, true);
	return record;
}
#endif


/*
 * dbreset_forget_copy_record
 *		Remove the record of a copy being made (NULL: none), once its
 *		creation has committed.
 */
void
dbreset_forget_copy_record(const char *record)
{
	if (record && unlink(record) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", record)));
}

/*
 * copy_failure_callback
 *		A transaction that ran CREATE DATABASE aborts, or its process
 *		exits, before its commit: remove the copy's files (the OID in
 *		*arg, once CREATE DATABASE has returned), as createdb()'s own
 *		failure callback does while CREATE DATABASE runs.
 */
static void
copy_failure_callback(int code, Datum arg)
{
	volatile Oid *oid = (volatile Oid *) DatumGetPointer(arg);

	(void) code;
	if (OidIsValid(*oid))
		(void) remove_copy_files(*oid);
}

/*
 * dbreset_run_create
 *		Worker side: run the CREATE DATABASE statement sql made by
 *		dbreset_create_statement() for args->dbname, with the caller's
 *		file_copy_method for this statement only, then then(arg) (NULL:
 *		nothing) in the same transaction, which the caller commits next.
 *		Should that transaction abort, or the process exit, once CREATE
 *		DATABASE has returned -- createdb()'s own cleanup has ended there
 *		-- the copy's files are removed.  Before CREATE DATABASE returns
 *		the OID is not ours: it may be a live database's (createdb()
 *		refuses such an OID).
 */
void
dbreset_run_create(const DbresetCopyArgs *args, const char *sql,
				   void (*then) (void *), void *arg)
{
	volatile Oid copy = InvalidOid;

	PG_ENSURE_ERROR_CLEANUP(copy_failure_callback, PointerGetDatum((void *) &copy));
	{
		int			save_nestlevel = NewGUCNestLevel();

		dbreset_set_file_copy_method(args->file_copy_clone);
		dbreset_run_utility(sql);
		AtEOXact_GUC(true, save_nestlevel);
		copy = get_database_oid(NameStr(args->dbname), false);
		if (then)
			then(arg);
	}
	PG_END_ENSURE_ERROR_CLEANUP(copy_failure_callback, PointerGetDatum((void *) &copy));
}

/* copy_created: between a clone's or snapshot's CREATE and its commit */
static void
copy_created(void *arg)
{
	(void) arg;
	dbreset_test_point("copy:created");
}

/*
 * copy_job_run
 *		The clone and snapshot job, in the worker: CREATE DATABASE from the
 *		source, which the worker holds in ShareLock mode (it took the lock
 *		itself: dbreset_job_lock_source) with nobody on it.  On 15+ the
 *		copy's OID is chosen and recorded first, so that the next call
 *		removes its files should a crash come before the commit; the
 *		record goes once the copy has committed, and from that commit on
 *		the job is past its point of no return.  A snapshot is then sealed
 *		and gets a comment saying what and when.  The result is the
 *		strategy line for the caller's log.
 */
static void
copy_job_run(const void *argp, StringInfo result)
{
	const DbresetCopyArgs *args = (const DbresetCopyArgs *) argp;
	Oid			oid = InvalidOid;
	char	   *record = NULL;
	char	   *sql;
	LOCKTAG		nametag;

	/*
	 * A reset of our name between its DROP and its CREATE holds the name's
	 * lock (dbreset_name_lock_id): the name is taken, and must not be taken
	 * from that reset.  The caller waited for such a reset before it
	 * started us (dbreset_get_database_oid); one that began since is not
	 * waited for.  Held until our CREATE commits.
	 */
	SET_LOCKTAG_OBJECT(nametag, InvalidOid, DatabaseRelationId,
					   dbreset_name_lock_id(NameStr(args->dbname)),
					   DBRESET_NAME_LOCK_SUBID);
	if (LockAcquire(&nametag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("database \"%s\" already exists", NameStr(args->dbname)),
				 errdetail("A reset of database \"%s\" is under way.",
						   NameStr(args->dbname))));

	/* what copies interrupted by a crash left, and a record of this one */
	(void) dbreset_remove_crashed_copies(InvalidOid);
#ifdef DBRESET_HAVE_CREATEDB_OID
	{
		HeapTuple	srctup = SearchSysCache1(DATABASEOID,
											 ObjectIdGetDatum(args->source_id));

		if (!HeapTupleIsValid(srctup))
			elog(ERROR, "cache lookup failed for database %u", args->source_id);
		oid = dbreset_new_database_oid();
		record = dbreset_record_copy(oid, oid,
									 ((Form_pg_database) GETSTRUCT(srctup))->dattablespace);
		record = MemoryContextStrdup(TopMemoryContext, record);
		ReleaseSysCache(srctup);
	}
#endif
	sql = dbreset_create_statement(args, NULL, oid, result);
	dbreset_run_create(args, sql, copy_created, NULL);

	dbreset_job_point_of_no_return();
	dbreset_job_next_transaction();
	dbreset_forget_copy_record(record);
	if (record)
		pfree(record);

	if (args->seal)
	{
		char	   *comment;

		comment = psprintf("snapshot of database \"%s\" taken by dbreset.snapshot_database() at %s",
						   NameStr(args->source),
						   timestamptz_to_str(GetCurrentTimestamp()));
		dbreset_run_utility(psprintf("COMMENT ON DATABASE %s IS %s",
									 quote_identifier(NameStr(args->dbname)),
									 quote_literal_cstr(comment)));
	}
}

DBRESET_JOB(dbreset_copy_job, "dbreset: copy database", copy_job_run);
