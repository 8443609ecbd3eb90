/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  The one way dbreset runs a statement of its own (DROP, CREATE,
 *	  ALTER, COMMENT ON DATABASE, ROLLBACK PREPARED): as a top-level
 *	  statement through ProcessUtility, as exec_simple_query would, so
 *	  that audit hooks and pg_stat_activity see the statement itself.
 *
 * IDENTIFICATION
 *	  src/base/utility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"

#include "compat.h"
#include "base/utility.h"

/*
 * run_statement
 *		Run the parsed utility statement stmt, whose text is sql, as a
 *		top-level statement.  Run in a caller (a spare's swap), the
 *		caller's own statement shows again afterwards.  What follows in
 *		the same transaction sees what it did.
 */
static void
run_statement(Node *stmt, const char *sql)
{
	PlannedStmt *pstmt = makeNode(PlannedStmt);
	const char *saved_query;

	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->utilityStmt = stmt;
	pstmt->stmt_location = 0;
	pstmt->stmt_len = (int) strlen(sql);

	saved_query = debug_query_string;
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	dbreset_process_utility(pstmt, sql);
	debug_query_string = saved_query;
	if (saved_query)
		pgstat_report_activity(STATE_RUNNING, saved_query);

	CommandCounterIncrement();
}

/*
 * dbreset_run_utility
 *		Run sql, one utility statement that dbreset built.
 */
void
dbreset_run_utility(const char *sql)
{
	List	   *parsetree = pg_parse_query(sql);

	if (list_length(parsetree) != 1)
		elog(ERROR, "dbreset built an invalid statement: %s", sql);
	run_statement(linitial_node(RawStmt, parsetree)->stmt, sql);
}

/*
 * dbreset_run_drop_database
 *		DROP DATABASE dbname, WITH (FORCE) if use_force and the server has
 *		it (13+): the statement is built, not parsed, so that 12 gets the
 *		plain DROP.
 */
void
dbreset_run_drop_database(const char *dbname, bool use_force)
{
	Node	   *stmt = (Node *) dbreset_make_dropdb_stmt(dbname, &use_force);

	run_statement(stmt, psprintf("DROP DATABASE %s%s",
								 quote_identifier(dbname),
								 use_force ? " WITH (FORCE)" : ""));
}
