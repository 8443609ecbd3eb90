/*-------------------------------------------------------------------------
 *
 * standing.h
 *	  Standing workers: workers that wait for the next job (standing.c).
 *
 * IDENTIFICATION
 *	  src/core/standing.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_STANDING_H
#define DBRESET_STANDING_H

#include "storage/dsm.h"
#include "storage/proc.h"

extern int	dbreset_worker_idle_timeout;
extern int	dbreset_max_idle_workers;

extern void dbreset_standing_define_settings(void);
extern bool dbreset_standing_claim(dsm_handle job, PGPROC **proc, int *pid);
extern int *dbreset_standing_pids(Oid dbid, int *npids);
extern void dbreset_standing_evict(Oid dbid, int timeout_ms);
extern bool dbreset_standing_offer(void);
extern bool dbreset_standing_wait_for_job(dsm_handle *job);

#endif							/* DBRESET_STANDING_H */
