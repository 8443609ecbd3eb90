/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PostgreSQL version difference dbreset depends on, in one place.
 *
 * The .c files are written against the newest API; this header maps it
 * back to older majors.  Groups are ordered newest first, and each says
 * what changed and since when, so that dropping support for a major means
 * deleting its group.  PostgreSQL 12 is the oldest supported major.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_COMPAT_H
#define DBRESET_COMPAT_H

#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "catalog/pg_tablespace.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shm_mq.h"
#include "storage/sinvaladt.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#if PG_VERSION_NUM >= 180000
#include "storage/copydir.h"
#endif
#include "utils/tuplestore.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#endif
#if PG_VERSION_NUM >= 130000
#include "postmaster/interrupt.h"
#else
#include <fcntl.h>
#include "storage/fd.h"
#include "storage/latch.h"
#endif

#if PG_VERSION_NUM < 120000
#error "dbreset requires PostgreSQL 12 or later"
#endif

/*
 * PostgreSQL 19: get_database_name() is declared in utils/lsyscache.h
 * (before, commands/dbcommands.h, included by the files that use it), and
 * pgstat.h no longer includes utils/wait_event.h (split out in 14), which
 * declares PG_WAIT_EXTENSION: both are included above for every major.
 */

/*
 * PostgreSQL 18: PG_MODULE_MAGIC_EXT records the module's name and version.
 */
#ifdef PG_MODULE_MAGIC_EXT
#define DBRESET_MODULE_MAGIC \
	PG_MODULE_MAGIC_EXT(.name = "dbreset", .version = DBRESET_VERSION)
#else
#define DBRESET_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/*
 * PostgreSQL 18: pg_stat_activity shows backends still starting up as
 * "starting", and pg_terminate_backend() lets privileges of role
 * pg_signal_autovacuum_worker terminate autovacuum workers (before, they
 * counted as superuser-owned: they have no role).
 */
#if PG_VERSION_NUM >= 180000
#define DBRESET_HAVE_STATE_STARTING 1

static inline bool
dbreset_autovacuum_needs_role(void)
{
	return true;
}

static inline bool
dbreset_may_signal_autovacuum(Oid roleid)
{
	return has_privs_of_role(roleid, ROLE_PG_SIGNAL_AUTOVACUUM_WORKER);
}
#else
static inline bool
dbreset_autovacuum_needs_role(void)
{
	return false;
}

static inline bool
dbreset_may_signal_autovacuum(Oid roleid)
{
	return superuser_arg(roleid);
}
#endif

/*
 * PostgreSQL 17: transaction_timeout, which would end a worker's
 * transaction when the role's or database's settings set it.
 */
static inline void
dbreset_disable_transaction_timeout(void)
{
#if PG_VERSION_NUM >= 170000
	SetConfigOption("transaction_timeout", "0", PGC_USERSET, PGC_S_OVERRIDE);
#endif
}

/*
 * PostgreSQL 17: a virtual transaction ID names its backend by ProcNumber,
 * an index into ProcGlobal->allProcs, and PGPROC keeps its own in "vxid"
 * (before, by BackendId, a slot of the shared invalidation state, and
 * PGPROC had "lxid").  dbreset_vxid_pid returns the pid of the process
 * running that transaction, or 0 if none does: a prepared transaction
 * keeps the vxid of the session that prepared it, which has moved on.
 */
#if PG_VERSION_NUM >= 170000
static inline int
dbreset_vxid_pid(VirtualTransactionId vxid)
{
	PGPROC	   *proc = ProcNumberGetProc(vxid.procNumber);

	if (proc == NULL || proc->vxid.lxid != vxid.localTransactionId)
		return 0;
	return proc->pid;
}
#else
static inline int
dbreset_vxid_pid(VirtualTransactionId vxid)
{
	PGPROC	   *proc = BackendIdGetProc(vxid.backendId);

	if (proc == NULL || proc->lxid != vxid.localTransactionId)
		return 0;
	return proc->pid;
}
#endif

/*
 * dbreset_proc_lxid: the local transaction ID a process is running, or
 * InvalidLocalTransactionId between transactions -- every major sets it in
 * StartTransaction() and clears it in ProcArrayEndTransaction().  PGPROC
 * keeps it in vxid.lxid on 17+, in lxid before.
 */
#if PG_VERSION_NUM >= 170000
#define dbreset_proc_lxid(proc) ((proc)->vxid.lxid)
#else
#define dbreset_proc_lxid(proc) ((proc)->lxid)
#endif

/*
 * PostgreSQL 17: a background worker may connect as a role without LOGIN
 * when it passes BGWORKER_BYPASS_ROLELOGINCHECK.  Before 17 the worker
 * connects as the caller's authenticated user, which did log in.
 */
#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
#define DBRESET_BGWORKER_FLAGS \
	(BGWORKER_BYPASS_ALLOWCONN | BGWORKER_BYPASS_ROLELOGINCHECK)
#else
#define DBRESET_BGWORKER_FLAGS BGWORKER_BYPASS_ALLOWCONN
#endif

/*
 * PostgreSQL 16: object_ownercheck() replaces the per-catalog ownercheck
 * functions, and the local backend status array is read by index through
 * pgstat_get_local_beentry_by_index() (pgstat_fetch_stat_local_beentry()
 * takes a backend ID from then on).
 */
#if PG_VERSION_NUM >= 160000
static inline bool
dbreset_database_ownercheck(Oid dbid, Oid roleid)
{
	return object_ownercheck(DatabaseRelationId, dbid, roleid);
}

static inline LocalPgBackendStatus *
dbreset_local_beentry(int idx)
{
	return pgstat_get_local_beentry_by_index(idx);
}
#else
static inline bool
dbreset_database_ownercheck(Oid dbid, Oid roleid)
{
	return pg_database_ownercheck(dbid, roleid);
}

static inline LocalPgBackendStatus *
dbreset_local_beentry(int idx)
{
	return pgstat_fetch_stat_local_beentry(idx);
}
#endif

/*
 * PostgreSQL 15: MarkGUCPrefixReserved() replaces
 * EmitWarningsOnPlaceholders(), and shm_mq_send() gains force_flush.
 * 15.1: InitMaterializedSRF() sets up a materialized set-returning
 * function (15.0 called it SetSingleFuncCall); older majors get the shim.
 */
#if PG_VERSION_NUM >= 150000
#define dbreset_reserve_guc_prefix(prefix) MarkGUCPrefixReserved(prefix)
#define dbreset_shm_mq_send(mqh, len, data) \
	shm_mq_send((mqh), (len), (data), false, true)
#else
#define dbreset_reserve_guc_prefix(prefix) EmitWarningsOnPlaceholders(prefix)
#define dbreset_shm_mq_send(mqh, len, data) \
	shm_mq_send((mqh), (len), (data), false)
#endif

#if PG_VERSION_NUM >= 150001
#define dbreset_init_materialized_srf(fcinfo) \
	InitMaterializedSRF((fcinfo), 0)
#else
static inline void
dbreset_init_materialized_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext oldcontext;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));

	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcontext);
}
#endif

/*
 * PostgreSQL 14: ProcessUtility() gains readOnlyTree; PGPROC carries
 * statusFlags (before, vacuumFlags lived in PGXACT); the predefined roles
 * are named ROLE_PG_*; backend status lives in backend_status.c, whose
 * snapshot can be cleared without touching the statistics snapshot.
 */
#if PG_VERSION_NUM >= 140000
static inline bool
dbreset_proc_is_autovacuum(PGPROC *proc)
{
	return (proc->statusFlags & PROC_IS_AUTOVACUUM) != 0;
}

#define dbreset_clear_backend_status_snapshot() \
	pgstat_clear_backend_activity_snapshot()
#else
static inline bool
dbreset_proc_is_autovacuum(PGPROC *proc)
{
	return (ProcGlobal->allPgXact[proc->pgprocno].vacuumFlags &
			PROC_IS_AUTOVACUUM) != 0;
}

#define dbreset_clear_backend_status_snapshot() pgstat_clear_snapshot()
#define ROLE_PG_SIGNAL_BACKEND DEFAULT_ROLE_SIGNAL_BACKENDID
#define ROLE_PG_READ_ALL_STATS DEFAULT_ROLE_READ_ALL_STATS
#endif

/*
 * PostgreSQL 13: postmaster/interrupt.h with SignalHandlerForConfigReload()
 * (ConfigReloadPending was in miscadmin.h alone), ProcSignalBarriers,
 * StaticAssertDecl(), and fsync_fname_ext() exported (static in fd.c
 * before).  The shims are 13's definitions and 12's body; 12 has no
 * barrier to absorb.
 */
#if PG_VERSION_NUM < 130000
static inline void
SignalHandlerForConfigReload(SIGNAL_ARGS)
{
	int			save_errno = errno;

	(void) postgres_signal_arg;
	ConfigReloadPending = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

#define ProcSignalBarrierPending false
#define ProcessProcSignalBarrier() ((void) 0)

#ifdef HAVE__STATIC_ASSERT
#define StaticAssertDecl(condition, errmessage) \
	_Static_assert(condition, errmessage)
#else
#define StaticAssertDecl(condition, errmessage) \
	extern void static_assert_func(int static_assert_failure[(condition) ? 1 : -1])
#endif

static inline int
fsync_fname_ext(const char *fname, bool isdir, bool ignore_perm, int elevel)
{
	int			fd;

	fd = OpenTransientFile(fname, PG_BINARY | (isdir ? O_RDONLY : O_RDWR));
	if (fd < 0)
	{
		if ((isdir && (errno == EISDIR || errno == EACCES)) ||
			(ignore_perm && errno == EACCES))
			return 0;
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", fname)));
		return -1;
	}
	if (pg_fsync(fd) != 0 && !(isdir && (errno == EBADF || errno == EINVAL)))
	{
		int			save_errno = errno;

		(void) CloseTransientFile(fd);
		errno = save_errno;
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", fname)));
		return -1;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", fname)));
		return -1;
	}
	return 0;
}
#endif

/*
 * PostgreSQL 13: DROP DATABASE gains WITH (FORCE); ProcessUtility()
 * reports through a QueryCompletion instead of a completion tag;
 * GetBackendTypeDesc() names backend types.
 *
 * dbreset_make_dropdb_stmt builds DROP DATABASE dbname [WITH (FORCE)];
 * *force is cleared where FORCE does not exist.
 */
static inline DropdbStmt *
dbreset_make_dropdb_stmt(const char *dbname, bool *force)
{
	DropdbStmt *stmt = makeNode(DropdbStmt);

	stmt->dbname = pstrdup(dbname);
	stmt->missing_ok = false;
#if PG_VERSION_NUM >= 130000
	if (*force)
		stmt->options = list_make1(makeDefElem("force", NULL, -1));
#else
	*force = false;
#endif
	return stmt;
}

#if PG_VERSION_NUM >= 130000
#define dbreset_backend_type_desc(t) GetBackendTypeDesc(t)
#else
#define dbreset_backend_type_desc(t) pgstat_get_backend_desc(t)
#endif

/*
 * Run a utility statement as a top-level statement, the way
 * exec_simple_query would, so that ProcessUtility_hook users (audit
 * extensions) see it.  PostgreSQL 14 added readOnlyTree; 13's
 * QueryCompletion and 12's completion tag are both passed as NULL.
 */
static inline void
dbreset_process_utility(PlannedStmt *pstmt, const char *query_string)
{
#if PG_VERSION_NUM >= 140000
	ProcessUtility(pstmt, query_string, false, PROCESS_UTILITY_TOPLEVEL,
				   NULL, NULL, None_Receiver, NULL);
#else
	ProcessUtility(pstmt, query_string, PROCESS_UTILITY_TOPLEVEL,
				   NULL, NULL, None_Receiver, NULL);
#endif
}

/*
 * Copying databases (core/copy.c, core/props.c)
 *
 * 15 adds CREATE DATABASE ... STRATEGY and OID, text datcollate/datctype
 * (NameData before) and the ICU provider (datlocprovider, daticulocale);
 * 16 adds daticurules and replaces check_is_member_of_role() (membership)
 * by check_can_set_role() (the SET option) for CREATE DATABASE ... OWNER;
 * 17 renames daticulocale to datlocale and adds the builtin provider;
 * 18 adds file_copy_method (clone = FILE_COPY by reflinks).  The minors of
 * late 2024 lock a pg_database tuple for updates that may race with an
 * in-place update (InplaceUpdateTupleLock); older ones have no such lock.
 */
#if PG_VERSION_NUM >= 150000
#define DBRESET_HAVE_CREATEDB_STRATEGY 1
#define DBRESET_HAVE_CREATEDB_OID 1
#endif

/*
 * dbreset_db_text_attr
 *		A text (15+) or name (12-14) column of a pg_database tuple from the
 *		syscache, as a C string; NULL if the column is null.
 */
static inline char *
dbreset_db_text_attr(HeapTuple tup, AttrNumber attno)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(DATABASEOID, tup, attno, &isnull);

	if (isnull)
		return NULL;
#if PG_VERSION_NUM >= 150000
	return TextDatumGetCString(d);
#else
	return pstrdup(NameStr(*DatumGetName(d)));
#endif
}

/*
 * dbreset_locale_options
 *		The CREATE DATABASE options that give a new database the encoding
 *		and locale settings of the database whose syscache tuple this is,
 *		as this major knows them: " ENCODING 'UTF8' LC_COLLATE '...' ...".
 *		Two databases have the same settings exactly when these strings are
 *		equal.
 */
static inline char *
dbreset_locale_options(HeapTuple tup)
{
	Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, " ENCODING %s LC_COLLATE %s LC_CTYPE %s",
					 quote_literal_cstr(pg_encoding_to_char(db->encoding)),
					 quote_literal_cstr(dbreset_db_text_attr(tup, Anum_pg_database_datcollate)),
					 quote_literal_cstr(dbreset_db_text_attr(tup, Anum_pg_database_datctype)));
#if PG_VERSION_NUM >= 150000
	{
#if PG_VERSION_NUM >= 170000
		char	   *locale = dbreset_db_text_attr(tup, Anum_pg_database_datlocale);
#else
		char	   *locale = dbreset_db_text_attr(tup, Anum_pg_database_daticulocale);
#endif

		switch (db->datlocprovider)
		{
			case COLLPROVIDER_ICU:
				appendStringInfoString(&buf, " LOCALE_PROVIDER icu");
				if (locale)
					appendStringInfo(&buf, " ICU_LOCALE %s",
									 quote_literal_cstr(locale));
				break;
#if PG_VERSION_NUM >= 170000
			case COLLPROVIDER_BUILTIN:
				appendStringInfoString(&buf, " LOCALE_PROVIDER builtin");
				if (locale)
					appendStringInfo(&buf, " BUILTIN_LOCALE %s",
									 quote_literal_cstr(locale));
				break;
#endif
			default:
				appendStringInfoString(&buf, " LOCALE_PROVIDER libc");
				break;
		}
	}
#endif
#if PG_VERSION_NUM >= 160000
	{
		char	   *rules = dbreset_db_text_attr(tup, Anum_pg_database_daticurules);

		if (rules)
			appendStringInfo(&buf, " ICU_RULES %s", quote_literal_cstr(rules));
	}
#endif
	return buf.data;
}

/*
 * dbreset_have_createdb_privilege
 *		CREATEDB or superuser; dbcommands.c exports its own check from 15.
 */
#if PG_VERSION_NUM >= 150000
#define dbreset_have_createdb_privilege() have_createdb_privilege()
#else
static inline bool
dbreset_have_createdb_privilege(void)
{
	HeapTuple	tup;
	bool		result = false;

	if (superuser())
		return true;
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_authid) GETSTRUCT(tup))->rolcreatedb;
		ReleaseSysCache(tup);
	}
	return result;
}
#endif

/*
 * dbreset_check_can_own
 *		What CREATE DATABASE ... OWNER role requires of the current user,
 *		with core's own message.
 */
static inline void
dbreset_check_can_own(Oid roleid)
{
#if PG_VERSION_NUM >= 160000
	check_can_set_role(GetUserId(), roleid);
#else
	check_is_member_of_role(GetUserId(), roleid);
#endif
}

static inline AclResult
dbreset_tablespace_aclcheck(Oid spcid, Oid roleid, AclMode mode)
{
#if PG_VERSION_NUM >= 160000
	return object_aclcheck(TableSpaceRelationId, spcid, roleid, mode);
#else
	return pg_tablespace_aclcheck(spcid, roleid, mode);
#endif
}

static inline AclResult
dbreset_database_aclcheck(Oid dbid, Oid roleid, AclMode mode)
{
#if PG_VERSION_NUM >= 160000
	return object_aclcheck(DatabaseRelationId, dbid, roleid, mode);
#else
	return pg_database_aclcheck(dbid, roleid, mode);
#endif
}

/*
 * dbreset_file_copy_is_clone
 *		Whether FILE_COPY would clone files (18+: file_copy_method = clone)
 *		rather than copy them.
 */
static inline bool
dbreset_file_copy_is_clone(void)
{
#if PG_VERSION_NUM >= 180000
	return file_copy_method == FILE_COPY_METHOD_CLONE;
#else
	return false;
#endif
}

/*
 * dbreset_set_file_copy_method
 *		Worker side: file_copy_method = clone or copy, as the caller had it,
 *		at the current GUC nest level (18+; nothing before, where FILE_COPY
 *		only copies).  Set both ways, so that neither the role's settings
 *		nor an earlier job of a standing worker decide it.
 */
static inline void
dbreset_set_file_copy_method(bool clone)
{
#if PG_VERSION_NUM >= 180000
	(void) set_config_option("file_copy_method", clone ? "clone" : "copy",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
#else
	(void) clone;
#endif
}

/*
 * dbreset_database_is_invalid
 *		Whether a DROP DATABASE was interrupted halfway on this database
 *		(datconnlimit -2, marked since the minors of August 2023).
 */
static inline bool
dbreset_database_is_invalid(Form_pg_database db)
{
#ifdef DATCONNLIMIT_INVALID_DB
	return db->datconnlimit == DATCONNLIMIT_INVALID_DB;
#else
	return false;
#endif
}

/*
 * dbreset_lock_database_tuple / dbreset_unlock_database_tuple
 *		Fetch a copy of a pg_database tuple for a heap update, with the
 *		tuple lock (ExclusiveLock, InplaceUpdateTupleLock) that keeps out a
 *		concurrent in-place update of datfrozenxid, as ALTER DATABASE takes
 *		it in the minors of late 2024 and later.  Taken whatever the headers
 *		we were built with say: a module built against an older minor may
 *		run on a newer one, and the lock costs nothing on the older ones.
 *		After locking, the tuple is fetched again: if it moved meanwhile,
 *		lock the new version.
 */
static inline HeapTuple
dbreset_lock_database_tuple(Relation rel, Oid dbid)
{
	for (;;)
	{
		HeapTuple	tup = SearchSysCacheCopy1(DATABASEOID, ObjectIdGetDatum(dbid));
		HeapTuple	again;

		if (!HeapTupleIsValid(tup))
			return NULL;
		LockTuple(rel, &tup->t_self, ExclusiveLock);
		AcceptInvalidationMessages();
		again = SearchSysCacheCopy1(DATABASEOID, ObjectIdGetDatum(dbid));
		if (HeapTupleIsValid(again) &&
			ItemPointerEquals(&again->t_self, &tup->t_self))
		{
			heap_freetuple(tup);
			return again;
		}
		UnlockTuple(rel, &tup->t_self, ExclusiveLock);
		heap_freetuple(tup);
		if (!HeapTupleIsValid(again))
			return NULL;
		heap_freetuple(again);
	}
}

static inline void
dbreset_unlock_database_tuple(Relation rel, HeapTuple tup)
{
	UnlockTuple(rel, &tup->t_self, ExclusiveLock);
}

/*
 * Spare workers on 19 are ended by DROP/CREATE DATABASE of the database
 * they are connected to, as core ends interruptible workers.
 */
#ifdef BGWORKER_INTERRUPTIBLE
#define DBRESET_SPARE_WORKER_FLAGS BGWORKER_INTERRUPTIBLE
#else
#define DBRESET_SPARE_WORKER_FLAGS 0
#endif

/* 15+: databases record their collation version (datcollversion) */
#if PG_VERSION_NUM >= 150000
#define DBRESET_HAVE_DATCOLLVERSION 1
#endif

/*
 * PostgreSQL 17 added the DSM registry, where an extension that is not
 * preloaded finds shared memory by name (GetNamedDSMSegment); 19 gave its
 * initialization callback an argument.  dbreset keeps its standing workers
 * there (core/standing.c).
 */
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#define DBRESET_HAVE_DSM_REGISTRY 1
#if PG_VERSION_NUM >= 190000
#define DBRESET_DSM_INIT_CALLBACK(name) \
	static void name##_body(void *ptr); \
	static void name(void *ptr, void *arg) \
	{ \
		(void) arg; \
		name##_body(ptr); \
	} \
	static void name##_body(void *ptr)
#define dbreset_get_named_dsm(name, size, init, found) \
	GetNamedDSMSegment(name, size, init, found, NULL)
#else
#define DBRESET_DSM_INIT_CALLBACK(name) static void name(void *ptr)
#define dbreset_get_named_dsm(name, size, init, found) \
	GetNamedDSMSegment(name, size, init, found)
#endif
#endif

/*
 * PostgreSQL 15 moved requests for the main shared memory from _PG_init to
 * a shmem_request_hook.  dbreset_install_shmem_request() installs hook fn
 * (saving the previous one in *prev) there, or asks for size at once
 * before 15.
 */
#if PG_VERSION_NUM >= 150000
typedef shmem_request_hook_type dbreset_shmem_request_hook_type;
#define dbreset_install_shmem_request(prev, fn, size) \
	(*(prev) = shmem_request_hook, shmem_request_hook = (fn), (void) (size))
#else
typedef void (*dbreset_shmem_request_hook_type) (void);
#define dbreset_install_shmem_request(prev, fn, size) \
	((void) (prev), (void) (fn), RequestAddinShmemSpace(size))
#endif

#endif							/* DBRESET_COMPAT_H */
