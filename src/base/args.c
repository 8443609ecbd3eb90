/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Reading the SQL functions' arguments (names, intervals, flags), the
 *	  settings that guard every call (dbreset.protected_databases,
 *	  dbreset.use_force_option), and the refusal of transaction blocks.
 *
 * IDENTIFICATION
 *	  src/base/args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "parser/scansup.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "compat.h"
#include "base/args.h"

/* dbreset.protected_databases: names no dbreset function will drop */
char	   *dbreset_protected_databases = NULL;

/* dbreset.use_force_option: end with DROP DATABASE ... WITH (FORCE) */
bool		dbreset_use_force_option = true;

/*
 * check_protected_databases
 *		GUC check hook: the setting must be a list of identifiers, like
 *		search_path, so that a typo is caught when it is set rather than
 *		silently protecting nothing.
 */
static bool
check_protected_databases(char **newval, void **extra, GucSource source)
{
	char	   *rawstring = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitIdentifierString(rawstring, ',', &names);

	(void) extra;
	(void) source;

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	list_free(names);
	pfree(rawstring);
	return ok;
}

/*
 * dbreset_args_define_settings
 *		Define dbreset.protected_databases and dbreset.use_force_option.
 */
void
dbreset_args_define_settings(void)
{
	DefineCustomStringVariable("dbreset.protected_databases",
							   "Databases that dbreset refuses to drop.",
							   "A comma-separated list of database names, "
							   "lower-cased unless double-quoted, as in search_path.",
							   &dbreset_protected_databases,
							   "postgres, template0, template1",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_protected_databases, NULL, NULL);

	DefineCustomBoolVariable("dbreset.use_force_option",
							 "Whether the final DROP DATABASE uses WITH (FORCE) "
							 "on PostgreSQL 13 and later.",
							 "When off, dbreset ends with a plain DROP DATABASE, "
							 "as it must on PostgreSQL 12.",
							 &dbreset_use_force_option,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * dbreset_get_name_arg
 *		Return the name passed as argument argno, refusing NULL (22004) and
 *		the empty name (22023); what names the argument in the message
 *		("database name", "template name", ...).  The SQL functions are not
 *		STRICT so that a NULL is an error instead of a silent NULL result.
 *		A name longer than NAMEDATALEN - 1 bytes has already been cut, on a
 *		character boundary, by the name type's input function, as the
 *		parser cuts an identifier.
 */
char *
dbreset_get_name_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *name;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));

	name = NameStr(*PG_GETARG_NAME(argno));
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));

	return pstrdup(name);
}

/*
 * dbreset_get_dbname_arg
 *		The database name passed as argument argno (dbreset_get_name_arg).
 */
char *
dbreset_get_dbname_arg(FunctionCallInfo fcinfo, int argno)
{
	return dbreset_get_name_arg(fcinfo, argno, "database name");
}

/*
 * interval_to_ms
 *		An interval in whole milliseconds, a month counted as 30 days as
 *		interval comparisons count it; *usecs gets its length in
 *		microseconds, for the caller's range check.  A positive length
 *		shorter than a millisecond is 1 ms, not none; lengths are capped at
 *		INT_MAX milliseconds (about 24 days), the range of lock_timeout,
 *		which bounds the wait for a database's lock.
 */
static int
interval_to_ms(const Interval *span, double *usecs)
{
	*usecs = (double) span->time +
		((double) span->month * DAYS_PER_MONTH + span->day) *
		(double) USECS_PER_DAY;

	if (*usecs / 1000.0 >= (double) INT_MAX)
		return INT_MAX;
	if (*usecs > 0 && *usecs < 1000.0)
		return 1;
	return (int) (*usecs / 1000.0);
}

/*
 * dbreset_get_timeout_arg
 *		The interval passed as argument argno, in milliseconds
 *		(interval_to_ms): it must be positive.
 */
int
dbreset_get_timeout_arg(FunctionCallInfo fcinfo, int argno)
{
	double		usecs;
	int			ms;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("timeout must not be null")));

	ms = interval_to_ms(PG_GETARG_INTERVAL_P(argno), &usecs);
	if (!(usecs > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must be greater than zero")));
	return ms;
}

/*
 * dbreset_get_grace_arg
 *		The grace interval passed as argument argno, in milliseconds
 *		(interval_to_ms): zero or more.  A function declared by an older
 *		install script has no such argument: no grace then.
 */
int
dbreset_get_grace_arg(FunctionCallInfo fcinfo, int argno)
{
	double		usecs;
	int			ms;

	if (PG_NARGS() <= argno)
		return 0;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("grace must not be null")));

	ms = interval_to_ms(PG_GETARG_INTERVAL_P(argno), &usecs);
	if (usecs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grace must not be negative")));
	return ms;
}

/*
 * dbreset_get_bool_arg
 *		The boolean passed as argument argno (named argname in messages),
 *		refusing NULL; "absent" when
 *		a function declared by an older install script has no such
 *		argument.
 */
bool
dbreset_get_bool_arg(FunctionCallInfo fcinfo, int argno, const char *argname,
					 bool absent)
{
	if (PG_NARGS() <= argno)
		return absent;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return PG_GETARG_BOOL(argno);
}

/*
 * dbreset_is_protected
 *		Whether dbname is named in protected, a value of
 *		dbreset.protected_databases: the setting itself, or the caller's
 *		value, which a job in a worker gets with its arguments.
 *
 *		An entry protects the database of that name in any letter case:
 *		"Prod", written unquoted, is read as prod, and must still protect the
 *		database "Prod".  Failing safe matters more here than telling apart
 *		two databases whose names differ only in case.
 */
bool
dbreset_is_protected(const char *dbname, const char *protected)
{
	char	   *rawstring = pstrdup(protected);
	char	   *folded = downcase_identifier(dbname, strlen(dbname), false, false);
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	/* the check hook has validated the syntax */
	(void) SplitIdentifierString(rawstring, ',', &names);

	foreach(lc, names)
	{
		const char *entry = (const char *) lfirst(lc);

		if (strcmp(downcase_identifier(entry, strlen(entry), false, false),
				   folded) == 0)
		{
			found = true;
			break;
		}
	}

	list_free(names);
	pfree(rawstring);
	pfree(folded);
	return found;
}

/*
 * dbreset_prevent_in_transaction_block
 *		Refuse to run inside a transaction block or a subtransaction (25001),
 *		as DROP DATABASE does, because what the worker commits cannot be
 *		rolled back with the caller's transaction.  Unlike DROP DATABASE, a
 *		call from a function in an autocommit statement is fine.
 *
 *		A subtransaction is refused even where the top-level transaction is
 *		not a block (a PL/pgSQL EXCEPTION clause in an autocommit
 *		statement), with a message of its own: inside one, xact.c reports
 *		a transaction block whether or not the statement started one.
 *
 *		A transaction that has already written is refused too, before
 *		anything is locked, signalled or started: a row version the caller
 *		wrote but has not committed (ALTER DATABASE, COMMENT ON DATABASE)
 *		would make the worker wait forever for a transaction that is
 *		waiting for it.
 */
void
dbreset_prevent_in_transaction_block(const char *what)
{
	if (IsSubTransaction())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a subtransaction", what),
				 errdetail("It commits on its own, and a rollback of the subtransaction could not undo it."),
				 errhint("Call it outside the savepoint, or outside the PL/pgSQL block that has an EXCEPTION clause. To skip a database that does not exist, pass if_exists => true instead of catching the error.")));

	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", what),
				 errdetail("It commits on its own, and a rollback of the transaction could not undo it.")));

	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run in a transaction that has already written", what),
				 errdetail("It runs in a background worker that cannot see, nor safely wait for, changes this transaction has not committed."),
				 errhint("Run it in a transaction of its own, before or after the statements that write.")));
}
