/*-------------------------------------------------------------------------
 *
 * props.h
 *	  What a reset keeps of a database: read before, given back after (props.c).
 *
 * IDENTIFICATION
 *	  src/core/props.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_PROPS_H
#define DBRESET_PROPS_H

#include "nodes/pg_list.h"
#include "utils/acl.h"

/* What a reset keeps of a database */
typedef struct DbresetDbProps
{
	Oid			oid;
	Oid			owner;
	Oid			tablespace;
	int32		connlimit;
	bool		allowconn;
	bool		istemplate;
	bool		locked;			/* in maintenance: lock_database() */
	char	   *locale_options; /* CREATE DATABASE options, per major */
	Acl		   *acl;			/* NULL: the defaults */
	char	   *comment;		/* NULL: none */
	List	   *labels;			/* of DbresetLabel */
	List	   *settings;		/* of DbresetSetting */
} DbresetDbProps;

extern DbresetDbProps *dbreset_read_db_props(Oid dbid, MemoryContext cxt);
extern void dbreset_hold_props_roles(const DbresetDbProps *props);
extern void dbreset_apply_db_props(Oid dbid, const DbresetDbProps *props);
extern void dbreset_seal_database(Oid dbid);
extern char *dbreset_database_comment(Oid dbid, TransactionId *xmin);

#endif							/* DBRESET_PROPS_H */
