/*-------------------------------------------------------------------------
 *
 * args.h
 *	  Reading the SQL functions' arguments; the settings that guard them (args.c).
 *
 * IDENTIFICATION
 *	  src/base/args.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_ARGS_H
#define DBRESET_ARGS_H

#include "fmgr.h"

/* dbreset.protected_databases, dbreset.use_force_option */
extern char *dbreset_protected_databases;
extern bool dbreset_use_force_option;

/* the SQL functions' default timeout ('5s'), for a call that has none */
#define DBRESET_DEFAULT_TIMEOUT_MS 5000

extern void dbreset_args_define_settings(void);
extern char *dbreset_get_name_arg(FunctionCallInfo fcinfo, int argno,
								  const char *what);
extern char *dbreset_get_dbname_arg(FunctionCallInfo fcinfo, int argno);
extern int	dbreset_get_timeout_arg(FunctionCallInfo fcinfo, int argno);
extern int	dbreset_get_grace_arg(FunctionCallInfo fcinfo, int argno);
extern bool dbreset_get_bool_arg(FunctionCallInfo fcinfo, int argno,
								 const char *argname, bool absent);
extern bool dbreset_is_protected(const char *dbname, const char *protected);
extern void dbreset_prevent_in_transaction_block(const char *what);

#endif							/* DBRESET_ARGS_H */
