/*-------------------------------------------------------------------------
 *
 * spare.h
 *	  Spares: ready copies of a template, their maker and the swap (spare.c).
 *
 * IDENTIFICATION
 *	  src/core/spare.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_SPARE_H
#define DBRESET_SPARE_H

#include "nodes/pg_list.h"

#include "core/copy.h"
#include "core/job.h"

/* Arguments of the drop-spares job */
typedef struct DbresetDropSparesArgs
{
	Oid			target;			/* InvalidOid: of every database */
} DbresetDropSparesArgs;

/* One row of dbreset.spares() */
typedef struct DbresetSpareRow
{
	char	   *spare;
	char	   *dbname;			/* NULL: none (any more) */
	char	   *template_name;	/* NULL: not a spare, or none */
	const char *state;
} DbresetSpareRow;

extern PGDLLEXPORT const DbresetJob dbreset_drop_spares_job;

extern const char *dbreset_spare_state(Oid spare, Oid template_id,
									   Oid target);
extern void dbreset_let_go_of_spare(Oid target, Oid spare);
extern Oid	dbreset_find_spare(Oid target, Oid template_id, int timeout_ms,
							   const char **why);
extern void dbreset_swap_spare(const char *dbname, Oid target, Oid spare);
extern bool dbreset_has_spares(Oid target);
extern void dbreset_drop_spares_of(Oid target);
extern bool dbreset_template_is_sealed(Oid dbid);
extern void dbreset_start_spare_worker(Oid target, Oid former_target,
									   Oid template_id,
									   const DbresetCopyArgs *settings);
extern List *dbreset_list_spares(void);

#endif							/* DBRESET_SPARE_H */
