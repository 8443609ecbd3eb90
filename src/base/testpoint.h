/*-------------------------------------------------------------------------
 *
 * testpoint.h
 *	  Test points: where a call may be stopped so that a test can kill it
 *	  (testpoint.c).  Only in test builds (-DDBRESET_TESTING); elsewhere
 *	  every point is nothing at all.
 *
 * IDENTIFICATION
 *	  src/base/testpoint.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBRESET_TESTPOINT_H
#define DBRESET_TESTPOINT_H

#ifdef DBRESET_TESTING
extern void dbreset_testpoint_define_settings(void);
extern void dbreset_test_point(const char *name);
#else
#define dbreset_testpoint_define_settings() ((void) 0)
#define dbreset_test_point(name) ((void) 0)
#endif

#endif							/* DBRESET_TESTPOINT_H */
