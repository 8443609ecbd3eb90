/*-------------------------------------------------------------------------
 *
 * dbreset.c
 *	  Module entry point: the module magic, and _PG_init, which has each
 *	  module define its own dbreset.* settings.
 *
 * How the source is laid out, and the life of a call: src/README.md.
 *
 * IDENTIFICATION
 *	  src/dbreset.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "compat.h"
#include "base/args.h"
#include "base/testpoint.h"
#include "core/copy.h"
#include "core/standing.h"

DBRESET_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the settings.  No preloading is needed: workers are
 *		registered dynamically, so CREATE EXTENSION is enough, and the list
 *		of standing workers is made on first use (core/standing.c).
 *		Preloaded (shared_preload_libraries), dbreset asks for that list's
 *		shared memory at startup.
 */
void
_PG_init(void)
{
	dbreset_args_define_settings();
	dbreset_copy_define_settings();
	dbreset_standing_define_settings();
	/* test builds only: dbreset.test_stop_at */
	dbreset_testpoint_define_settings();

	dbreset_reserve_guc_prefix("dbreset");
}
