/*-------------------------------------------------------------------------
 *
 * blockers.c
 *	  dbreset.drop_blockers(): every reason a force_drop_database() by the
 *	  current user would fail now, changing nothing (core/refusals.c).
 *
 * IDENTIFICATION
 *	  src/commands/blockers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "base/args.h"
#include "core/refusals.h"
PG_FUNCTION_INFO_V1(dbreset_drop_blockers);

/*
 * dbreset.drop_blockers(dbname name)
 *		RETURNS TABLE (kind text, object text, detail text, blocks boolean)
 *
 *		Every reason force_drop_database(dbname) -- with its default
 *		arguments, called by the current user -- would fail now (blocks =
 *		true), and what it would do besides (blocks = false), changing
 *		nothing.  Rows come blocking first, then by kind and object:
 *
 *		privilege		no EXECUTE on force_drop_database(); not the owner
 *		read_only		a read-only transaction, or a standby
 *		protected		named in dbreset.protected_databases
 *		lock			a process (or prepared transaction) that holds or
 *						waits for a lock on the database
 *		template, current_database
 *		replication_slot	active: blocks; inactive: dropped with it
 *		subscription
 *		prepared_transaction
 *		session			one the user may not terminate (blocks, with the
 *						reason); the others counted per role and application
 *		invalid, locked, closed		the database's state (never blocks)
 *
 *		How force_drop_database() is called is not the database's business
 *		and is not reported: it also refuses to run inside a transaction
 *		block or a subtransaction, or after its transaction has written
 *		(25001) -- so a call of drop_blockers() inside a transaction block
 *		may show no blocking row where force_drop_database() in the same
 *		place would still fail.  Nor are the failures that only the attempt
 *		can tell: a session that does not exit within the timeout, no free
 *		background worker slot.
 *
 *		NULL or the empty name are refused as by force_drop_database(); a
 *		database that does not exist is 3D000, as force_drop_database()
 *		without if_exists.  Open to everyone: it reads what each role may
 *		read, with pg_stat_activity's visibility rule for queries.
 */
Datum
dbreset_drop_blockers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dbname = dbreset_get_dbname_arg(fcinfo, 0);
	Oid			dbid = get_database_oid(dbname, true);
	DbresetBlockers *b;
	int			i;

	if (!OidIsValid(dbid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", dbname)));

	dbreset_init_materialized_srf(fcinfo);
	b = dbreset_collect_blockers(dbname, dbid, false);

	for (i = 0; i < b->nrows; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(b->rows[i].kind);
		values[1] = CStringGetTextDatum(b->rows[i].object);
		values[2] = CStringGetTextDatum(b->rows[i].detail);
		values[3] = BoolGetDatum(b->rows[i].blocks);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}

	return (Datum) 0;
}
