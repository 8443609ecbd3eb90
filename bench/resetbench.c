/*-------------------------------------------------------------------------
 *
 * resetbench.c
 *	  Benchmark: how long does it take to reset a database that has
 *	  sessions connected to it -- terminate them, drop the database and
 *	  create it again from a template?
 *
 * dbreset.reset_database() does that in one call; with keep_spare => true
 * and a sealed template, a background worker keeps a spare copy of the
 * template ready and the next reset swaps it in (a rename) instead of
 * copying.  This program times both against what a client can do itself:
 *
 *	reset		SELECT dbreset.reset_database('rb_reset', 'template1')
 *	force_reset	DROP DATABASE rb_reset WITH (FORCE);
 *				CREATE DATABASE rb_reset TEMPLATE template1
 *	floor_reset	SELECT count(*) FROM dbreset.terminate_sessions('rb_reset');
 *				DROP DATABASE rb_reset;
 *				CREATE DATABASE rb_reset TEMPLATE template1
 *				(the client floor: what a reset cannot do without)
 *	spare_reset	SELECT dbreset.reset_database('rb_spare', 'rb_tpl',
 *											  keep_spare => true)
 *				(with a ready spare of rb_spare)
 *	floor_drop	SELECT count(*) FROM dbreset.terminate_sessions('rb_floor');
 *				DROP DATABASE rb_floor
 *				(the drop alone, which a swap should beat)
 *
 * rb_tpl is a sealed copy of template1 (IS_TEMPLATE true, ALLOW_CONNECTIONS
 * false) made at start.  Each contender's database is its own, so that the
 * contenders do not disturb each other: a reset without keep_spare would
 * drop rb_spare's spare, for one.
 *
 * A scenario is N = 10 (by default) idle sessions; within it the
 * contenders are run round-robin, one sample each per round, so that
 * machine noise hits all of them alike.  Each sample, untimed: create the
 * contender's database from its template if it does not exist (rb_floor
 * every time), wait until dbreset's background work is quiet -- no row of
 * dbreset.spares() other than 'ready', no "dbreset spare worker" in
 * pg_stat_activity -- and, for spare_reset, until rb_spare has a ready
 * spare (after one warm-up reset with keep_spare if it has none); run a
 * CHECKPOINT; open the N sessions in parallel and wait until
 * pg_stat_activity shows them idle.  Then the statement(s) are timed on an
 * admin connection to database "postgres" with CLOCK_MONOTONIC; then,
 * untimed again, the results are checked (a count of terminated sessions
 * other than N is only a warning, and so is a spare_reset that did not
 * swap the spare in) and the sessions closed.
 *
 * The CHECKPOINT is there because DROP DATABASE waits for an immediate
 * checkpoint (PostgreSQL 15 does), which writes out whatever the other
 * databases have dirty in shared buffers: without it, a contender would
 * pay for the copy that the previous contender or the spare worker has
 * just made (about 925 buffers and 300 files for a copy of template1) --
 * floor_drop, which runs right after spare_reset, for the new spare.
 *
 * The program never starts a server; it connects to the one described by
 * the conninfo argument and/or the PG* environment variables (the database
 * name in it is ignored).  It needs PostgreSQL 13 or later, extension
 * dbreset (1.1 or later) in database "postgres", and max_connections >=
 * max N + 20.  At exit, also after an error, it drops what it created:
 * the spares of its databases, the databases, then rb_tpl.  The report is
 * a markdown table on stdout; progress goes to stderr.  Exit status is 0
 * unless something failed: missed targets are only reported.
 *
 * bench/run wraps this with a throwaway cluster ("bench/run reset").  The
 * helpers it shares with dropbench are in benchlib.c.
 *
 * IDENTIFICATION
 *	  bench/resetbench.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define RESET_DB			"rb_reset"
#define SPARE_DB			"rb_spare"
#define FLOOR_DB			"rb_floor"
#define TEMPLATE_DB			"rb_tpl"
#define MAX_SCENARIO_NS		8
#define QUIET_TIMEOUT_MS	60000.0

/* dbreset's background work in progress: spares not ready, spare workers */
#define BUSY_SQL \
	"SELECT (SELECT count(*) FROM dbreset.spares() WHERE state <> 'ready')" \
	" + (SELECT count(*) FROM pg_stat_activity" \
	" WHERE backend_type = 'dbreset spare worker')"

/* OID of the ready spare of SPARE_DB, 0 if none */
#define READY_SPARE_SQL \
	"SELECT coalesce(max(d.oid::int8), 0) FROM dbreset.spares() s" \
	" JOIN pg_database d ON d.datname = s.spare" \
	" WHERE s.dbname = '" SPARE_DB "' AND s.state = 'ready'"

#define WARM_UP_SQL \
	"SELECT dbreset.reset_database('" SPARE_DB "', '" TEMPLATE_DB "'," \
	" keep_spare => true)"

/* The databases we work on; rb_tpl is made at start and kept sealed. */
typedef enum BenchDb
{
	DB_RESET,
	DB_SPARE,
	DB_FLOOR,
	DB_TEMPLATE,
	NUM_DBS
} BenchDb;

static const char *const db_names[NUM_DBS] = {
	RESET_DB, SPARE_DB, FLOOR_DB, TEMPLATE_DB
};

/*
 * What each database is created from when it is missing: the reset
 * contenders' template (template1, or rb_tpl with -t), rb_tpl, rb_tpl,
 * the source of rb_tpl (template1, or -t's).
 */
static const char *db_templates[NUM_DBS] = {
	"template1", TEMPLATE_DB, TEMPLATE_DB, "template1"
};

/* " STRATEGY x" for the client's CREATE DATABASE (-s), or "" */
static const char *strategy_clause = "";

/* we created (or, with -f, took over) the database and may drop it */
static bool db_ours[NUM_DBS];

typedef enum Contender
{
	C_RESET,
	C_FORCE_RESET,
	C_FLOOR_RESET,
	C_SPARE_RESET,
	C_FLOOR_DROP,
	NUM_CONTENDERS
} Contender;

/* What a contender runs, on which database, and what to check after. */
typedef struct ContenderDef
{
	const char *name;
	BenchDb		db;				/* the database it resets or drops */
	bool		counts;			/* its first statement returns the number of
								 * sessions terminated */
	bool		drops;			/* the database is gone afterwards */
	char	   *sql[4];			/* the statements, NULL-terminated */
} ContenderDef;

/* filled in by define_contenders(), once the options are known */
static ContenderDef contenders[NUM_CONTENDERS] = {
	{"reset", DB_RESET, true, false, {NULL}},
	{"force_reset", DB_RESET, false, false, {NULL}},
	{"floor_reset", DB_RESET, true, false, {NULL}},
	{"spare_reset", DB_SPARE, true, false, {NULL}},
	{"floor_drop", DB_FLOOR, true, true, {NULL}},
};

/*
 * The contenders' statements: the reset contenders copy tpl (template1,
 * or rb_tpl with -t), the client's CREATE DATABASE with the strategy of
 * -s if given.
 */
static void
define_contenders(void)
{
	const char *tpl = db_templates[DB_RESET];
	ContenderDef *c = contenders;

	c[C_RESET].sql[0] = psprintf("SELECT dbreset.reset_database('" RESET_DB
								 "', '%s')", tpl);
	c[C_FORCE_RESET].sql[0] = psprintf("DROP DATABASE " RESET_DB
									   " WITH (FORCE)");
	c[C_FORCE_RESET].sql[1] = psprintf("CREATE DATABASE " RESET_DB
									   " TEMPLATE %s%s", tpl, strategy_clause);
	c[C_FLOOR_RESET].sql[0] = psprintf("SELECT count(*) FROM"
									   " dbreset.terminate_sessions('"
									   RESET_DB "')");
	c[C_FLOOR_RESET].sql[1] = psprintf("DROP DATABASE " RESET_DB);
	c[C_FLOOR_RESET].sql[2] = c[C_FORCE_RESET].sql[1];
	c[C_SPARE_RESET].sql[0] = psprintf("SELECT dbreset.reset_database('"
									   SPARE_DB "', '" TEMPLATE_DB "',"
									   " keep_spare => true)");
	c[C_FLOOR_DROP].sql[0] = psprintf("SELECT count(*) FROM"
									  " dbreset.terminate_sessions('"
									  FLOOR_DB "')");
	c[C_FLOOR_DROP].sql[1] = psprintf("DROP DATABASE " FLOOR_DB);
}

/* Functions of dbreset this program calls */
static const char *const needed_functions[] = {
	"dbreset.reset_database(name, name, boolean, interval, interval)",
	"dbreset.terminate_sessions(name, interval, interval)",
	"dbreset.spares()",
	"dbreset.drop_spares(name)",
	NULL
};

/* One N and the samples measured for it. */
typedef struct Scenario
{
	int			nsessions;		/* N: idle sessions on the database */
	int			nsamples;		/* samples per contender */
	double	   *samples[NUM_CONTENDERS];	/* ms */
	double		median[NUM_CONTENDERS]; /* ms */
} Scenario;


/*
 * Run a statement whose failure must not stop us (cleanup); report a
 * failure on stderr and return whether it succeeded.
 */
static bool
try_sql(const char *sql)
{
	PGresult   *res = PQexec(admin, sql);
	ExecStatusType st = PQresultStatus(res);
	bool		ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);

	if (!ok)
		fprintf(stderr, "resetbench: warning: \"%s\" failed: %s", sql,
				res ? PQresultErrorMessage(res) : PQerrorMessage(admin));
	PQclear(res);
	return ok;
}

/*
 * Whether database dbname exists.
 */
static bool
database_exists(const char *dbname)
{
	char	   *qdbname = quote_literal(dbname);
	char	   *sql = psprintf("SELECT count(*) FROM pg_database"
							   " WHERE datname = %s", qdbname);
	long		n = query_long(admin, sql);

	free(sql);
	free(qdbname);
	return n != 0;
}

/*
 * Drop what we created: wait (up to QUIET_TIMEOUT_MS) for dbreset's
 * background work to end, so that no spare worker makes a spare of one of
 * our databases or copies rb_tpl while they go; then drop the spares of
 * our databases, the databases (terminating their sessions) and rb_tpl
 * (after unsealing it: a template cannot be dropped).
 *
 * Never dies: a failure is reported on stderr and the rest still tried.
 * Returns whether everything of ours is gone.  Also the die_hook.
 */
static bool
drop_databases(void)
{
	bool		any = false;
	bool		ok = true;
	double		deadline = now_ms() + QUIET_TIMEOUT_MS;
	int			db;

	for (db = 0; db < NUM_DBS; db++)
		any |= db_ours[db];
	if (!any)
		return true;
	if (!admin_usable())
	{
		fprintf(stderr, "resetbench: warning: could not reconnect to drop"
				" the bench databases: %s", PQerrorMessage(admin));
		return false;
	}

	/* no NOTICE for each database that is already gone */
	(void) try_sql("SET client_min_messages = warning");
	for (;;)
	{
		PGresult   *res = PQexec(admin, BUSY_SQL);
		bool		quiet = (PQresultStatus(res) != PGRES_TUPLES_OK ||
							 strcmp(PQgetvalue(res, 0, 0), "0") == 0);

		PQclear(res);
		if (quiet || now_ms() > deadline)
			break;
		sleep_ms(10);
	}

	for (db = 0; db < NUM_DBS; db++)
	{
		char	   *sql;
		bool		dropped;

		if (!db_ours[db] || db == DB_TEMPLATE)
			continue;
		sql = psprintf("SELECT dbreset.drop_spares(datname) FROM pg_database"
					   " WHERE datname = '%s'", db_names[db]);
		dropped = try_sql(sql);
		free(sql);
		sql = psprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
					   db_names[db]);
		dropped = try_sql(sql) && dropped;
		free(sql);
		if (dropped)
			db_ours[db] = false;
		ok = ok && dropped;
	}

	if (db_ours[DB_TEMPLATE])
	{
		PGresult   *res = PQexec(admin, "SELECT 1 FROM pg_database"
								 " WHERE datname = '" TEMPLATE_DB "'");
		bool		exists = (PQresultStatus(res) != PGRES_TUPLES_OK ||
							  PQntuples(res) > 0);

		PQclear(res);
		if (!exists ||
			(try_sql("ALTER DATABASE " TEMPLATE_DB " IS_TEMPLATE false") &&
			 try_sql("DROP DATABASE " TEMPLATE_DB " WITH (FORCE)")))
			db_ours[DB_TEMPLATE] = false;
		else
			ok = false;
	}
	(void) try_sql("RESET client_min_messages");
	return ok;
}

/*
 * die_hook: drop what we created (die() has closed the sessions of the
 * sample in progress).
 */
static void
drop_databases_on_error(void)
{
	(void) drop_databases();
}

/*
 * Open the admin connection (to database ADMIN_DB), check that the server
 * can run the benchmark, deal with pre-existing bench databases (die, or
 * with -f drop them) and make rb_tpl.
 */
static void
setup(int max_n, bool take_over)
{
	char	   *sql;
	int			db;
	int			i;

	connect_admin_db();
	if (server_version < 130000)
		die("resetbench needs PostgreSQL 13 or later (contender"
			" \"force_reset\" uses DROP DATABASE ... WITH (FORCE))");
	for (i = 0; needed_functions[i] != NULL; i++)
		if (!function_exists(needed_functions[i]))
			die("function %s not found in database \"" ADMIN_DB "\":"
				" CREATE EXTENSION dbreset (version 1.1 or later)",
				needed_functions[i]);
	/* room for the sessions, admin, autovacuum, workers and some slack */
	check_max_connections(max_n);

	for (db = 0; db < NUM_DBS; db++)
	{
		if (!database_exists(db_names[db]))
			continue;
		if (!take_over)
			die("database %s already exists; drop it, or pass -f"
				" to let resetbench take it over", db_names[db]);
		db_ours[db] = true;
	}
	/* start from scratch: rb_tpl must be a fresh copy of its source */
	if (!drop_databases())
		die("could not drop the pre-existing bench databases");

	db_ours[DB_TEMPLATE] = true;
	sql = psprintf("CREATE DATABASE " TEMPLATE_DB " TEMPLATE %s%s"
				   " IS_TEMPLATE true ALLOW_CONNECTIONS false",
				   db_templates[DB_TEMPLATE], strategy_clause);
	run_command(admin, sql);
	free(sql);
}

/*
 * Create database db from its template if it does not exist.
 */
static void
ensure_database(BenchDb db)
{
	char	   *sql;

	if (database_exists(db_names[db]))
		return;
	db_ours[db] = true;
	sql = psprintf("CREATE DATABASE %s TEMPLATE %s%s",
				   db_names[db], db_templates[db], strategy_clause);
	run_command(admin, sql);
	free(sql);
}

/*
 * Wait until dbreset's background work is quiet: no row of
 * dbreset.spares() in a state other than 'ready', no spare worker in
 * pg_stat_activity.  With want_spare, also until rb_spare has a ready
 * spare: if it has none and nothing is at work, run one warm-up
 * reset_database(keep_spare => true) and wait for the spare it starts.
 * Dies after QUIET_TIMEOUT_MS.  Returns the OID of rb_spare's ready spare
 * with want_spare, else 0.
 */
static long
wait_quiet(bool want_spare)
{
	double		start = now_ms();
	bool		warmed_up = false;
	long		busy = 0;
	long		spare = 0;

	for (;;)
	{
		busy = query_long(admin, BUSY_SQL);
		if (busy == 0)
		{
			if (!want_spare)
				return 0;
			spare = query_long(admin, READY_SPARE_SQL);
			if (spare != 0)
				return spare;
			if (!warmed_up)
			{
				if (verbose)
					fprintf(stderr, "resetbench: no spare of " SPARE_DB
							": warm-up reset\n");
				/* its NOTICE that there was no spare is expected */
				run_command(admin, "SET client_min_messages = warning");
				PQclear(run_sql(admin, WARM_UP_SQL, PGRES_TUPLES_OK));
				run_command(admin, "RESET client_min_messages");
				warmed_up = true;
				continue;
			}
		}
		if (now_ms() - start > QUIET_TIMEOUT_MS)
		{
			if (busy != 0)
				die("dbreset's background work still going on after %.0f s"
					" (%ld spares not ready or spare workers);"
					" see dbreset.spares()", QUIET_TIMEOUT_MS / 1000.0, busy);
			die("no ready spare of " SPARE_DB " after %.0f s and a warm-up"
				" reset; see dbreset.spares() and the server log",
				QUIET_TIMEOUT_MS / 1000.0);
		}
		sleep_ms(10);
	}
}

/*
 * Run contender c's statements on database db with n idle sessions and
 * return the elapsed wall time in milliseconds; check the results
 * outside the timed section.  spare is the OID of the spare that
 * spare_reset should swap in.
 */
static double
timed_reset(Contender c, int n, long spare)
{
	const ContenderDef *def = &contenders[c];
	const char *dbname = db_names[def->db];
	PGresult   *res[4] = {NULL, NULL, NULL, NULL};
	double		start;
	double		elapsed;
	int			i;

	start = now_ms();
	for (i = 0; def->sql[i] != NULL; i++)
	{
		ExecStatusType st;

		res[i] = PQexec(admin, def->sql[i]);
		st = PQresultStatus(res[i]);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			break;
	}
	elapsed = now_ms() - start;

	for (i = 0; def->sql[i] != NULL; i++)
	{
		ExecStatusType st = PQresultStatus(res[i]);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			die("contender \"%s\" failed with %d sessions: \"%s\": %s",
				def->name, n, def->sql[i],
				res[i] ? PQresultErrorMessage(res[i]) : PQerrorMessage(admin));
	}
	if (def->counts)
	{
		if (PQntuples(res[0]) != 1 || PQgetisnull(res[0], 0, 0))
			die("\"%s\" did not return a count", def->sql[0]);
		if (atoi(PQgetvalue(res[0], 0, 0)) != n)
			fprintf(stderr, "resetbench: warning: contender \"%s\" reported"
					" %s sessions terminated, expected %d\n",
					def->name, PQgetvalue(res[0], 0, 0), n);
	}
	for (i = 0; i < 4; i++)
		PQclear(res[i]);

	if (database_exists(dbname) == def->drops)
		die("database %s %s after contender \"%s\" returned", dbname,
			def->drops ? "still exists" : "does not exist", def->name);
	if (c == C_SPARE_RESET &&
		query_long(admin, "SELECT oid FROM pg_database"
				   " WHERE datname = '" SPARE_DB "'") != spare)
		fprintf(stderr, "resetbench: warning: contender \"%s\" did not swap"
				" in the spare of " SPARE_DB " (OID %ld)\n", def->name, spare);
	return elapsed;
}

/*
 * One complete sample: get contender c's database ready with n idle
 * sessions and dbreset's background work quiet, time c, clean up.
 */
static double
run_sample(Contender c, int n)
{
	const ContenderDef *def = &contenders[c];
	const char *dbname = db_names[def->db];
	long		spare;
	double		ms;

	ensure_database(def->db);
	spare = wait_quiet(c == C_SPARE_RESET);
	/* so that the DROP's checkpoint does not write out others' copies */
	run_command(admin, "CHECKPOINT");
	open_sessions(dbname, n);
	wait_sessions_visible(dbname, n, false);
	ms = timed_reset(c, n, spare);
	close_sessions();
	return ms;
}

/*
 * Run all samples of one scenario, contenders round-robin, and compute
 * the medians.
 */
static void
run_scenario(Scenario *sc)
{
	double		start = now_ms();
	int			round;
	int			c;

	for (c = 0; c < NUM_CONTENDERS; c++)
	{
		sc->samples[c] = malloc(sizeof(double) * sc->nsamples);
		if (sc->samples[c] == NULL)
			die("out of memory");
	}

	for (round = 0; round < sc->nsamples; round++)
	{
		for (c = 0; c < NUM_CONTENDERS; c++)
		{
			sc->samples[c][round] = run_sample(c, sc->nsessions);
			if (verbose)
				fprintf(stderr, "resetbench: N=%d %s sample %d: %.2f ms\n",
						sc->nsessions, contenders[c].name, round + 1,
						sc->samples[c][round]);
		}
	}

	for (c = 0; c < NUM_CONTENDERS; c++)
		sc->median[c] = median(sc->samples[c], sc->nsamples);

	fprintf(stderr, "resetbench: N=%d: %d rounds in %.1f s\n",
			sc->nsessions, sc->nsamples, (now_ms() - start) / 1000.0);
}

/*
 * Print the markdown report.
 */
static void
print_report(const Scenario *scs, int nscs)
{
	PGresult   *res = run_sql(admin, "SELECT version()", PGRES_TUPLES_OK);
	int			i;

	printf("# resetbench\n\n");
	printf("Server: %s\n\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	printf("Median wall time in ms of resetting a database (terminate its"
		   " sessions, drop it, create it again) with N idle sessions"
		   " connected, timed on the client; contenders alternated"
		   " round-robin, each on its own database; before each sample the"
		   " database was created if missing, dbreset's background work had"
		   " finished and a `CHECKPOINT` was run (untimed);"
		   " `" TEMPLATE_DB "` is a sealed copy of %s",
		   db_templates[DB_TEMPLATE]);
	if (strcmp(db_templates[DB_TEMPLATE], "template1") != 0)
	{
		res = run_sql(admin, "SELECT pg_size_pretty(pg_database_size('"
					  TEMPLATE_DB "')), current_setting('file_copy_method',"
					  " true)", PGRES_TUPLES_OK);
		printf(" (%s", PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			printf(", `file_copy_method = %s`", PQgetvalue(res, 0, 1));
		printf(")");
		PQclear(res);
	}
	printf(".\n\n");
	for (i = 0; i < NUM_CONTENDERS; i++)
	{
		int			j;

		printf("- %s: ", contenders[i].name);
		for (j = 0; contenders[i].sql[j] != NULL; j++)
			printf("%s`%s`", j > 0 ? "; " : "", contenders[i].sql[j]);
		printf("%s\n", i == C_SPARE_RESET ? " with a ready spare" : "");
	}
	printf("\n");

	printf("| N | samples | reset | force_reset | floor_reset | spare_reset"
		   " | floor_drop | reset/floor_reset | reset/force_reset"
		   " | spare_reset/floor_drop | spare_reset/floor_reset"
		   " | spare_reset/force_reset |\n");
	printf("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (i = 0; i < nscs; i++)
	{
		const double *m = scs[i].median;
		int			c;

		printf("| %d | %d |", scs[i].nsessions, scs[i].nsamples);
		for (c = 0; c < NUM_CONTENDERS; c++)
			print_cell(m[c], "%.1f");
		print_cell(ratio(m[C_RESET], m[C_FLOOR_RESET]), "%.2f");
		print_cell(ratio(m[C_RESET], m[C_FORCE_RESET]), "%.2f");
		print_cell(ratio(m[C_SPARE_RESET], m[C_FLOOR_DROP]), "%.2f");
		print_cell(ratio(m[C_SPARE_RESET], m[C_FLOOR_RESET]), "%.2f");
		print_cell(ratio(m[C_SPARE_RESET], m[C_FORCE_RESET]), "%.3f");
		putchar('\n');
	}

	printf("\nTargets (informative):\n\n");
	for (i = 0; i < nscs; i++)
	{
		const double *m = scs[i].median;
		char	   *label = psprintf("N=%d", scs[i].nsessions);

		print_target(label, "reset/floor_reset",
					 ratio(m[C_RESET], m[C_FLOOR_RESET]), 1.3);
		print_target(label, "spare_reset/floor_drop",
					 ratio(m[C_SPARE_RESET], m[C_FLOOR_DROP]), 0.7);
		/* issue 18's goals for a big template (-t) */
		if (strcmp(db_templates[DB_TEMPLATE], "template1") != 0)
		{
			print_target(label, "reset/force_reset",
						 ratio(m[C_RESET], m[C_FORCE_RESET]), 1.3);
			print_target(label, "spare_reset/force_reset",
						 ratio(m[C_SPARE_RESET], m[C_FORCE_RESET]), 0.05);
		}
		free(label);
	}
	fflush(stdout);
}

/*
 * Print usage.
 */
static void
usage(void)
{
	printf("Usage: resetbench [OPTION]... [CONNINFO]\n"
		   "Time resetting a database with N idle sessions connected.\n\n"
		   "CONNINFO is a libpq connection string or URI (default: PG*"
		   " environment);\n"
		   "its database name is ignored (\"" ADMIN_DB "\" is used, and the"
		   " bench databases\n"
		   "\"" RESET_DB "\", \"" SPARE_DB "\", \"" FLOOR_DB "\" and \""
		   TEMPLATE_DB "\" are created and dropped).\n\n"
		   "Options:\n"
		   "  -N LIST   session counts (default 10)\n"
		   "  -n NUM    samples per contender per scenario (default 15)\n"
		   "  -t DB     make \"" TEMPLATE_DB "\" from DB (default template1) and"
		   " reset every\n"
		   "            database from \"" TEMPLATE_DB "\" (default: \""
		   RESET_DB "\" from template1)\n"
		   "  -s NAME   STRATEGY of the client's CREATE DATABASE (default:"
		   " the server's)\n"
		   "  -f        take over (drop and recreate) pre-existing bench"
		   " databases\n"
		   "  -v        print every sample on stderr\n"
		   "  -h        show this help\n");
}

/*
 * Parse options, run the scenarios, print the report, drop what we made.
 */
int
main(int argc, char **argv)
{
	int			ns[MAX_SCENARIO_NS] = {10};
	int			nns = 1;
	int			nsamples = 15;
	bool		take_over = false;
	Scenario   *scs;
	int			max_n = 0;
	int			opt;
	int			i;

	progname = "resetbench";
	die_hook = drop_databases_on_error;

	while ((opt = getopt(argc, argv, "N:n:t:s:fvh")) != -1)
	{
		switch (opt)
		{
			case 'N':
				nns = parse_ns(optarg, ns, MAX_SCENARIO_NS);
				break;
			case 'n':
				nsamples = atoi(optarg);
				if (nsamples < 1)
					die("invalid sample count \"%s\"", optarg);
				break;
			case 't':
				db_templates[DB_TEMPLATE] = optarg;
				db_templates[DB_RESET] = TEMPLATE_DB;
				break;
			case 's':
				strategy_clause = psprintf(" STRATEGY %s", optarg);
				break;
			case 'f':
				take_over = true;
				break;
			case 'v':
				verbose = true;
				break;
			case 'h':
				usage();
				return 0;
			default:
				fprintf(stderr, "Try \"resetbench -h\" for more information.\n");
				return 2;
		}
	}
	if (optind < argc)
		conninfo = argv[optind++];
	if (optind < argc)
	{
		fprintf(stderr, "resetbench: too many arguments\n");
		return 2;
	}

	scs = calloc(nns, sizeof(Scenario));
	if (scs == NULL)
		die("out of memory");
	for (i = 0; i < nns; i++)
	{
		scs[i].nsessions = ns[i];
		scs[i].nsamples = nsamples;
		if (ns[i] > max_n)
			max_n = ns[i];
	}

	sessions = calloc(max_n + 1, sizeof(PGconn *));
	if (sessions == NULL)
		die("out of memory");

	define_contenders();
	setup(max_n, take_over);

	for (i = 0; i < nns; i++)
		run_scenario(&scs[i]);

	print_report(scs, nns);

	die_hook = NULL;
	if (!drop_databases())
	{
		fprintf(stderr, "resetbench: error: could not drop all the bench"
				" databases\n");
		PQfinish(admin);
		return 1;
	}
	PQfinish(admin);

	for (i = 0; i < nns; i++)
	{
		int			c;

		for (c = 0; c < NUM_CONTENDERS; c++)
			free(scs[i].samples[c]);
	}
	free(scs);
	free(sessions);
	return 0;
}
