/*-------------------------------------------------------------------------
 *
 * refusals.h
 *	  DROP DATABASE's refusals, raised by the drops and listed by drop_blockers() (refusals.c).
 *
 * IDENTIFICATION
 *	  src/core/refusals.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_REFUSALS_H
#define DBRESET_REFUSALS_H

/* One row of drop_blockers() */
typedef struct DbresetBlocker
{
	const char *kind;
	char	   *object;
	char	   *detail;
	bool		blocks;
} DbresetBlocker;

/* The rows found, in the memory context they were made for */
typedef struct DbresetBlockers
{
	MemoryContext cxt;
	DbresetBlocker *rows;
	int			nrows;
	int			maxrows;
	int			nsessions;		/* sessions a drop would terminate */
} DbresetBlockers;

extern void dbreset_check_not_protected(const char *dbname,
										const char *protected);
extern void dbreset_check_droppable(const char *dbname, Oid dbid,
									bool rollback_prepared);
extern void dbreset_check_prepared_transactions(const char *dbname, Oid dbid,
												const char *late);
extern void dbreset_check_may_roll_back(const char *dbname, Oid dbid,
										bool late);
extern DbresetBlockers *dbreset_collect_blockers(const char *dbname, Oid dbid,
												 bool for_batch);
extern char *dbreset_blockers_summary(const char *dbname, Oid dbid,
									  int *nsessions);

#endif							/* DBRESET_REFUSALS_H */
