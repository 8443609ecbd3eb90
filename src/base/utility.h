/*-------------------------------------------------------------------------
 *
 * utility.h
 *	  Running dbreset's own statements through ProcessUtility (utility.c).
 *
 * IDENTIFICATION
 *	  src/base/utility.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_UTILITY_H
#define DBRESET_UTILITY_H

extern void dbreset_run_utility(const char *sql);
extern void dbreset_run_drop_database(const char *dbname, bool use_force);

#endif							/* DBRESET_UTILITY_H */
