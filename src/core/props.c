/*-------------------------------------------------------------------------
 *
 * props.c
 *	  What a reset keeps of a database -- owner, tablespace, connection
 *	  limit, ALLOW_CONNECTIONS, template flag, grants, comment, security
 *	  labels, per-database settings, the maintenance record -- read before
 *	  the drop and given back to the new database in the same transaction.
 *
 * IDENTIFICATION
 *	  src/core/props.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_db_role_setting.h"
#include "catalog/pg_shdescription.h"
#include "catalog/pg_shseclabel.h"
#include "commands/comment.h"
#include "commands/seclabel.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "base/dbstate.h"
#include "core/job.h"
#include "core/props.h"

/* One ALTER DATABASE ... SET or ALTER ROLE ... IN DATABASE ... SET row */
typedef struct DbresetSetting
{
	Oid			role;			/* InvalidOid: for every role */
	Datum		config;			/* text[] */
} DbresetSetting;

/* One security label */
typedef struct DbresetLabel
{
	char	   *provider;
	char	   *label;
} DbresetLabel;

/*
 * scan_shared
 *		Begin a scan of a shared catalog for the rows of one object, keyed by
 *		its OID column (and, where the catalog has one, its class column).
 *		The catalogs are small: a heap scan will do.
 */
static SysScanDesc
scan_shared(Relation rel, AttrNumber oidcol, Oid objid, AttrNumber classcol)
{
	ScanKeyData keys[2];
	int			nkeys = 1;

	ScanKeyInit(&keys[0], oidcol, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(objid));
	if (classcol != InvalidAttrNumber)
		ScanKeyInit(&keys[nkeys++], classcol, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(DatabaseRelationId));
	return systable_beginscan(rel, InvalidOid, false, NULL, nkeys, keys);
}

/*
 * dbreset_database_comment
 *		The comment on database dbid (COMMENT ON DATABASE), or NULL; with
 *		xmin not NULL, also the xmin of its pg_shdescription row.
 */
char *
dbreset_database_comment(Oid dbid, TransactionId *xmin)
{
	Relation	rel = table_open(SharedDescriptionRelationId, AccessShareLock);
	SysScanDesc scan = scan_shared(rel, Anum_pg_shdescription_objoid, dbid,
								   Anum_pg_shdescription_classoid);
	HeapTuple	row;
	char	   *result = NULL;

	if (HeapTupleIsValid(row = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(row, Anum_pg_shdescription_description,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			result = TextDatumGetCString(d);
		if (xmin)
			*xmin = HeapTupleHeaderGetRawXmin(row->t_data);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * dbreset_read_db_props
 *		Read what a reset keeps of database dbid, allocating in cxt so that
 *		it outlives the transaction.  Called with the database locked.
 */
DbresetDbProps *
dbreset_read_db_props(Oid dbid, MemoryContext cxt)
{
	MemoryContext oldcontext = MemoryContextSwitchTo(cxt);
	DbresetDbProps *props = palloc0(sizeof(DbresetDbProps));
	HeapTuple	tup;
	Form_pg_database db;
	bool		isnull;
	Datum		acl;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	row;

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", dbid);
	db = (Form_pg_database) GETSTRUCT(tup);

	props->oid = dbid;
	props->owner = db->datdba;
	props->tablespace = db->dattablespace;
	/* an interrupted DROP DATABASE marks a database invalid with -2 */
	props->connlimit = dbreset_database_is_invalid(db) ? -1 : db->datconnlimit;
	props->allowconn = db->datallowconn;
	props->istemplate = db->datistemplate;
	props->locale_options = dbreset_locale_options(tup);
	acl = SysCacheGetAttr(DATABASEOID, tup, Anum_pg_database_datacl, &isnull);
	props->acl = isnull ? NULL : DatumGetAclPCopy(acl);
	ReleaseSysCache(tup);
	props->locked = dbreset_database_state(dbid) == DBRESET_DB_MAINTENANCE;

	props->comment = dbreset_database_comment(dbid, NULL);

	/* SECURITY LABEL ON DATABASE, one per provider */
	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = scan_shared(rel, Anum_pg_shseclabel_objoid, dbid,
					   Anum_pg_shseclabel_classoid);
	while (HeapTupleIsValid(row = systable_getnext(scan)))
	{
		DbresetLabel *label = palloc(sizeof(DbresetLabel));
		Datum		provider = heap_getattr(row, Anum_pg_shseclabel_provider,
											RelationGetDescr(rel), &isnull);
		Datum		value = heap_getattr(row, Anum_pg_shseclabel_label,
										 RelationGetDescr(rel), &isnull);

		label->provider = TextDatumGetCString(provider);
		label->label = TextDatumGetCString(value);
		props->labels = lappend(props->labels, label);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* ALTER DATABASE ... SET and ALTER ROLE ... IN DATABASE ... SET */
	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	scan = scan_shared(rel, Anum_pg_db_role_setting_setdatabase, dbid,
					   InvalidAttrNumber);
	while (HeapTupleIsValid(row = systable_getnext(scan)))
	{
		DbresetSetting *setting = palloc(sizeof(DbresetSetting));
		Datum		config = heap_getattr(row, Anum_pg_db_role_setting_setconfig,
										  RelationGetDescr(rel), &isnull);

		if (isnull)
			continue;
		setting->role = ((Form_pg_db_role_setting) GETSTRUCT(row))->setrole;
		/* the value itself: the DROP deletes its TOAST chunks */
		setting->config = PointerGetDatum(PG_DETOAST_DATUM_COPY(config));
		props->settings = lappend(props->settings, setting);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	MemoryContextSwitchTo(oldcontext);
	return props;
}

/*
 * hold_role
 *		Worker side: lock role roleid against DROP ROLE for the rest of the
 *		job, as ALTER ROLE ... SET does (shdepLockAndCheckObject); whether it
 *		still exists is checked once we hold the lock.
 */
static bool
hold_role(Oid roleid)
{
	dbreset_job_hold_lock(AuthIdRelationId, roleid, 0, AccessShareLock);
	return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(roleid));
}

/*
 * dbreset_hold_props_roles
 *		Worker side, before the point of no return: lock every role that
 *		props refers to -- the owner, the roles in the ACL, the roles of
 *		ALTER ROLE ... IN DATABASE ... SET -- so that none can be dropped
 *		between the DROP, which removes their dependencies, and the moment
 *		we record them again.  An owner already gone is an error now, before
 *		anything is dropped; a setting of a role already gone is left out,
 *		as DROP ROLE would have removed it.
 */
void
dbreset_hold_props_roles(const DbresetDbProps *props)
{
	ListCell   *lc;

	if (!hold_role(props->owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role %u does not exist", props->owner)));
	if (props->acl)
	{
		Oid		   *members;
		int			nmembers = aclmembers(props->acl, &members);
		int			i;

		for (i = 0; i < nmembers; i++)
			if (!hold_role(members[i]))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("role %u does not exist", members[i])));
	}
	foreach(lc, props->settings)
	{
		DbresetSetting *setting = (DbresetSetting *) lfirst(lc);

		if (OidIsValid(setting->role))
			(void) hold_role(setting->role);
	}
}

/*
 * apply_database_row
 *		Give database dbid the ACL, connection limit and flags of props, in
 *		one update of its pg_database row, and record the ACL's roles as
 *		shared dependencies, as GRANT does (ExecGrant_common): those of the
 *		ACL it replaces go, those of the new one come.
 */
static void
apply_database_row(Oid dbid, const DbresetDbProps *props)
{
	Relation	rel = table_open(DatabaseRelationId, RowExclusiveLock);
	HeapTuple	tup = dbreset_lock_database_tuple(rel, dbid);
	HeapTuple	newtup;
	Datum		values[Natts_pg_database];
	bool		nulls[Natts_pg_database];
	bool		replace[Natts_pg_database];
	Datum		oldacl;
	bool		isnull;
	Oid		   *oldmembers = NULL;
	int			noldmembers = 0;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", dbid);
	oldacl = heap_getattr(tup, Anum_pg_database_datacl,
						  RelationGetDescr(rel), &isnull);
	if (!isnull)
		noldmembers = aclmembers(DatumGetAclP(oldacl), &oldmembers);

	memset(values, 0, sizeof(values));
	memset(nulls, false, sizeof(nulls));
	memset(replace, false, sizeof(replace));

	values[Anum_pg_database_datallowconn - 1] = BoolGetDatum(props->allowconn);
	replace[Anum_pg_database_datallowconn - 1] = true;
	values[Anum_pg_database_datconnlimit - 1] = Int32GetDatum(props->connlimit);
	replace[Anum_pg_database_datconnlimit - 1] = true;
	values[Anum_pg_database_datistemplate - 1] = BoolGetDatum(props->istemplate);
	replace[Anum_pg_database_datistemplate - 1] = true;
	replace[Anum_pg_database_datacl - 1] = true;
	if (props->acl)
		values[Anum_pg_database_datacl - 1] = PointerGetDatum(props->acl);
	else
		nulls[Anum_pg_database_datacl - 1] = true;

	newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values, nulls,
							   replace);
	CatalogTupleUpdate(rel, &tup->t_self, newtup);
	dbreset_unlock_database_tuple(rel, tup);

	{
		Oid		   *members = NULL;
		int			nmembers = props->acl ? aclmembers(props->acl, &members) : 0;

		updateAclDependencies(DatabaseRelationId, dbid, 0, props->owner,
							  noldmembers, oldmembers, nmembers, members);
	}

	table_close(rel, RowExclusiveLock);
}

/*
 * dbreset_seal_database
 *		ALLOW_CONNECTIONS false on database dbid, in the current transaction
 *		-- for an old database about to be dropped in the background.
 */
void
dbreset_seal_database(Oid dbid)
{
	Relation	rel = table_open(DatabaseRelationId, RowExclusiveLock);
	HeapTuple	tup = dbreset_lock_database_tuple(rel, dbid);
	HeapTuple	newtup;
	Datum		values[Natts_pg_database];
	bool		nulls[Natts_pg_database];
	bool		replace[Natts_pg_database];

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", dbid);
	memset(values, 0, sizeof(values));
	memset(nulls, false, sizeof(nulls));
	memset(replace, false, sizeof(replace));
	values[Anum_pg_database_datallowconn - 1] = BoolGetDatum(false);
	replace[Anum_pg_database_datallowconn - 1] = true;

	newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values, nulls,
							   replace);
	CatalogTupleUpdate(rel, &tup->t_self, newtup);
	dbreset_unlock_database_tuple(rel, tup);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * insert_setting
 *		Insert one pg_db_role_setting row as it was, keyed to dbid.
 */
static void
insert_setting(Relation rel, Oid dbid, const DbresetSetting *setting)
{
	Datum		values[Natts_pg_db_role_setting];
	bool		nulls[Natts_pg_db_role_setting];
	HeapTuple	tup;

	memset(nulls, false, sizeof(nulls));
	values[Anum_pg_db_role_setting_setdatabase - 1] = ObjectIdGetDatum(dbid);
	values[Anum_pg_db_role_setting_setrole - 1] = ObjectIdGetDatum(setting->role);
	values[Anum_pg_db_role_setting_setconfig - 1] = setting->config;

	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	heap_freetuple(tup);
}

/*
 * dbreset_apply_db_props
 *		Give database dbid -- just created with props' owner, tablespace and
 *		locale -- everything else of props: ACL, connection limit, flags,
 *		comment, security labels and settings, and the maintenance record (base/dbstate.c)
 *		if it had one.  Settings of roles dropped since they were read are
 *		left out, as DROP ROLE would have removed them.  The lock's record
 *		is written before the commit, which the caller makes.
 */
void
dbreset_apply_db_props(Oid dbid, const DbresetDbProps *props)
{
	ObjectAddress address;
	ListCell   *lc;
	Relation	rel;

	apply_database_row(dbid, props);

	if (props->comment)
		CreateSharedComments(dbid, DatabaseRelationId, props->comment);

	ObjectAddressSet(address, DatabaseRelationId, dbid);
	foreach(lc, props->labels)
	{
		DbresetLabel *label = (DbresetLabel *) lfirst(lc);

		SetSecurityLabel(&address, label->provider, label->label);
	}

	rel = table_open(DbRoleSettingRelationId, RowExclusiveLock);
	foreach(lc, props->settings)
	{
		DbresetSetting *setting = (DbresetSetting *) lfirst(lc);

		if (OidIsValid(setting->role) &&
			!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(setting->role)))
			continue;
		insert_setting(rel, dbid, setting);
	}
	table_close(rel, RowExclusiveLock);

	CommandCounterIncrement();

	/* dbreset's lock stays, recorded for the row version written here */
	if (props->locked)
		dbreset_keep_maintenance_record(dbid);
	/* the record of the OID the database had, if another, is stale */
	if (props->oid != dbid)
		dbreset_forget_maintenance_record_at_commit(props->oid);
}
