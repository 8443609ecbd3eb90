/*-------------------------------------------------------------------------
 *
 * dropbench.c
 *	  Benchmark: how long does it take to drop a database that still has
 *	  sessions connected to it?
 *
 * dbreset.force_drop_database() exists to make "throw this database away
 * right now" fast and reliable.  This program measures whether it is, by
 * timing it against the alternatives a client has without the extension:
 *
 *	dbreset		SELECT dbreset.force_drop_database('benchdb')
 *	force		DROP DATABASE benchdb WITH (FORCE)	(PostgreSQL >= 13)
 *	recipe		ALTER DATABASE benchdb ALLOW_CONNECTIONS false;
 *				SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 *				  WHERE datname = 'benchdb' AND pid <> pg_backend_pid();
 *				DROP DATABASE benchdb;	(the classic pre-13 client script)
 *	plain		DROP DATABASE benchdb	(only with N = 0: the baseline)
 *	first		dbreset, with no idle dbreset worker left: the call starts
 *				one (the first call of a series; it then stays)
 *	percall		dbreset with dbreset.worker_idle_timeout = 0 for the
 *				sample: a worker started for the call, which exits after
 *
 *	floor		SELECT count(*) FROM dbreset.terminate_sessions('benchdb');
 *				DROP DATABASE benchdb	(the client floor: what a drop
 *				cannot do without)
 *	signal		SELECT count(pg_terminate_backend(pid)) FROM
 *				  pg_stat_activity WHERE datname = 'benchdb' ...
 *				(the signals alone: it does not wait for the sessions)
 *	terminate	SELECT count(*) FROM dbreset.terminate_sessions('benchdb')
 *				(the signals and the sessions' exits)
 *
 * signal and terminate leave benchdb; it is dropped after the timed part,
 * once its sessions are gone.  With them, the report says where the time
 * of a drop goes: the signals, the exits (terminate - signal), the DROP
 * (floor - terminate) and what dbreset adds (dbreset - floor).
 *
 * "dbreset" runs with the server's settings, so with a standing worker
 * (every major, unless turned off) it is served by an idle worker,
 * which an untimed dbreset.drop_spares() before the sample leaves.  For "first", the idle workers are sent away
 * and waited for; for "percall", the setting is changed with ALTER SYSTEM
 * and a reload, and the change is seen in the admin session, before the
 * timed call and restored after it -- all untimed.
 *
 * Scenarios are N = 0, 10, 100 other sessions connected to benchdb, each
 * with the sessions either idle or active (running "SELECT pg_sleep(600)",
 * sent asynchronously).  N = 0 has no flavour and is run once.  Within a
 * scenario the contenders are run round-robin, one sample each per round,
 * so that machine noise (checkpoints, other load) hits all of them alike.
 *
 * Each sample: CREATE DATABASE benchdb from template0 (untimed; WAL_LOG
 * strategy, the PostgreSQL 15 default: FILE_COPY creates equally fast but
 * makes the following DROP 10-30x slower, which would swamp what we want
 * to see), open the N sessions in parallel (untimed), start their queries
 * and wait until pg_stat_activity shows them all (untimed), then time the
 * drop statement(s) on an admin connection to database "postgres" with
 * CLOCK_MONOTONIC, check that benchdb is gone, and close the N (by then
 * terminated) sessions.
 *
 * The program never starts a server; it connects to the one described by
 * the conninfo argument and/or the PG* environment variables (the database
 * name in it is ignored).  The server needs max_connections >= max N + 20.
 * The report is a markdown table on stdout; progress goes to stderr.  Exit
 * status is 0 unless something failed: missed targets are only reported.
 *
 * bench/run wraps this with a throwaway cluster.  The helpers it shares
 * with resetbench are in benchlib.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define BENCH_DB			"benchdb"
#define MAX_SCENARIO_NS		8

typedef enum Contender
{
	C_DBRESET,
	C_FORCE,
	C_RECIPE,
	C_PLAIN,
	C_FIRST,
	C_PERCALL,
	C_FLOOR,
	C_SIGNAL,
	C_TERMINATE,
	NUM_CONTENDERS
} Contender;

static const char *const contender_names[NUM_CONTENDERS] = {
	"dbreset", "force", "recipe", "plain", "first", "percall", "floor",
	"signal", "terminate"
};

/* the contenders that leave benchdb in place */
#define KEEPS_DB(c)		((c) == C_SIGNAL || (c) == C_TERMINATE)

/* One (N, flavour) combination and the samples measured for it. */
typedef struct Scenario
{
	int			nsessions;		/* N: other sessions on benchdb */
	bool		active;			/* sessions run pg_sleep() rather than idle */
	int			nsamples;		/* samples per contender */
	double	   *samples[NUM_CONTENDERS];	/* ms; NULL if contender not run */
	double		median[NUM_CONTENDERS]; /* ms; < 0 if contender not run */
} Scenario;

static bool benchdb_ours = false;	/* we created benchdb and may drop it */

/*
 * die_hook: leave the server as we found it, dropping benchdb if we
 * created it (die() has closed the sessions of the sample in progress).
 */
static void
drop_benchdb_on_error(void)
{
	if (!benchdb_ours || !admin_usable())
		return;
	PQclear(PQexec(admin,
				   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
				   " WHERE datname = '" BENCH_DB "'"
				   " AND pid <> pg_backend_pid()"));
	PQclear(PQexec(admin, "DROP DATABASE IF EXISTS " BENCH_DB));
}

/*
 * Open the admin connection (to database ADMIN_DB) and check that the
 * server can run what was asked of it.
 */
static void
connect_admin(bool want[NUM_CONTENDERS], int max_n, bool drop_existing)
{
	connect_admin_db();

	if (want[C_FORCE] && server_version < 130000)
		die("contender \"force\" needs PostgreSQL 13 or later;"
			" skip it with -c");
	if ((want[C_DBRESET] || want[C_FIRST] || want[C_PERCALL] ||
		 want[C_FLOOR] || want[C_TERMINATE]) &&
		!function_exists("dbreset.force_drop_database(name, boolean,"
						 " interval, interval, boolean)"))
		die("function dbreset.force_drop_database(name, boolean, interval, interval, boolean)"
			" not found in database \"" ADMIN_DB "\": CREATE EXTENSION dbreset,"
			" or skip the contender with -c");
	/* room for the sessions, admin, autovacuum and some slack */
	check_max_connections(max_n);

	if (query_long(admin, "SELECT count(*) FROM pg_database"
				   " WHERE datname = '" BENCH_DB "'") != 0)
	{
		if (!drop_existing)
			die("database " BENCH_DB " already exists; drop it, or pass -f"
				" to let dropbench drop it");
		benchdb_ours = true;
		PQclear(run_sql(admin,
						"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
						" WHERE datname = '" BENCH_DB "'",
						PGRES_TUPLES_OK));
		run_command(admin, "DROP DATABASE " BENCH_DB);
	}
}

/*
 * CREATE DATABASE benchdb (untimed part of every sample).
 */
static void
create_benchdb(void)
{
	/* See the header comment for why template0 and WAL_LOG. */
	if (server_version >= 150000)
		run_command(admin, "CREATE DATABASE " BENCH_DB
					" TEMPLATE template0 STRATEGY wal_log");
	else
		run_command(admin, "CREATE DATABASE " BENCH_DB " TEMPLATE template0");
	benchdb_ours = true;
}

/*
 * Check that benchdb no longer exists; dying otherwise.
 */
static void
check_dropped(Contender c)
{
	if (query_long(admin, "SELECT count(*) FROM pg_database"
				   " WHERE datname = '" BENCH_DB "'") != 0)
		die("database " BENCH_DB " still exists after contender \"%s\""
			" returned", contender_names[c]);
	benchdb_ours = false;
}

/*
 * Drop benchdb the way contender c does it and return the elapsed wall
 * time in milliseconds.  n is the number of sessions on benchdb, used to
 * sanity-check the count dbreset reports.
 */
static double
timed_drop(Contender c, int n)
{
	PGresult   *res[3] = {NULL, NULL, NULL};
	double		start;
	double		elapsed;
	int			i;

	start = now_ms();
	switch (c)
	{
		case C_DBRESET:
		case C_FIRST:
		case C_PERCALL:
			res[0] = PQexec(admin, "SELECT dbreset.force_drop_database('"
							BENCH_DB "')");
			break;
		case C_FORCE:
			res[0] = PQexec(admin, "DROP DATABASE " BENCH_DB " WITH (FORCE)");
			break;
		case C_RECIPE:
			res[0] = PQexec(admin, "ALTER DATABASE " BENCH_DB
							" ALLOW_CONNECTIONS false");
			if (PQresultStatus(res[0]) != PGRES_COMMAND_OK)
				break;
			res[1] = PQexec(admin, "SELECT pg_terminate_backend(pid)"
							" FROM pg_stat_activity"
							" WHERE datname = '" BENCH_DB "'"
							" AND pid <> pg_backend_pid()");
			if (PQresultStatus(res[1]) != PGRES_TUPLES_OK)
				break;
			res[2] = PQexec(admin, "DROP DATABASE " BENCH_DB);
			break;
		case C_PLAIN:
			res[0] = PQexec(admin, "DROP DATABASE " BENCH_DB);
			break;
		case C_FLOOR:
			res[0] = PQexec(admin, "SELECT count(*) FROM"
							" dbreset.terminate_sessions('" BENCH_DB "')");
			if (PQresultStatus(res[0]) != PGRES_TUPLES_OK)
				break;
			res[1] = PQexec(admin, "DROP DATABASE " BENCH_DB);
			break;
		case C_SIGNAL:
			res[0] = PQexec(admin, "SELECT count(pg_terminate_backend(pid))"
							" FROM pg_stat_activity"
							" WHERE datname = '" BENCH_DB "'"
							" AND pid <> pg_backend_pid()");
			break;
		case C_TERMINATE:
			res[0] = PQexec(admin, "SELECT count(*) FROM"
							" dbreset.terminate_sessions('" BENCH_DB "')");
			break;
		case NUM_CONTENDERS:
			break;
	}
	elapsed = now_ms() - start;

	/* Check the results outside the timed section. */
	for (i = 0; i < 3; i++)
	{
		ExecStatusType st = PQresultStatus(res[i]);

		if (res[i] == NULL && i > 0)
			break;
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			die("contender \"%s\" failed with %d sessions: %s",
				contender_names[c], n,
				res[i] ? PQresultErrorMessage(res[i]) : PQerrorMessage(admin));
	}
	if (c == C_DBRESET || c == C_FIRST || c == C_PERCALL)
	{
		if (PQntuples(res[0]) != 1 || PQgetisnull(res[0], 0, 0))
			die("dbreset.force_drop_database() did not return a count");
		if (atoi(PQgetvalue(res[0], 0, 0)) != n)
			fprintf(stderr, "dropbench: warning: dbreset.force_drop_database()"
					" reported %s sessions terminated, expected %d\n",
					PQgetvalue(res[0], 0, 0), n);
	}
	for (i = 0; i < 3; i++)
		PQclear(res[i]);

	if (KEEPS_DB(c))
	{
		/* untimed: wait for the sessions to be gone, then drop */
		PQclear(run_sql(admin, "SELECT dbreset.terminate_sessions('"
						BENCH_DB "')", PGRES_TUPLES_OK));
		run_command(admin, "DROP DATABASE " BENCH_DB);
	}
	check_dropped(c);
	return elapsed;
}

/*
 * Set dbreset.worker_idle_timeout with ALTER SYSTEM (NULL: reset it) and
 * wait until the admin session sees the new value after the reload.
 */
static void
set_idle_timeout(const char *value)
{
	char		sql[200];
	int			tries;

	if (value)
		snprintf(sql, sizeof(sql),
				 "ALTER SYSTEM SET dbreset.worker_idle_timeout = '%s'", value);
	else
		snprintf(sql, sizeof(sql),
				 "ALTER SYSTEM RESET dbreset.worker_idle_timeout");
	run_command(admin, sql);
	PQclear(run_sql(admin, "SELECT pg_reload_conf()", PGRES_TUPLES_OK));
	for (tries = 0; tries < 1000; tries++)
	{
		PGresult   *res = run_sql(admin,
								  "SELECT current_setting('dbreset.worker_idle_timeout')"
								  " = '0'",
								  PGRES_TUPLES_OK);
		bool		zero = strcmp(PQgetvalue(res, 0, 0), "t") == 0;

		PQclear(res);
		if (zero == (value != NULL))
			return;
		usleep(10000);
	}
	die("dbreset.worker_idle_timeout did not change after a reload");
}

/*
 * Send dbreset's idle workers away and wait until they have gone.
 */
static void
end_idle_workers(void)
{
	PQclear(run_sql(admin,
					"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
					" WHERE backend_type = 'dbreset worker'",
					PGRES_TUPLES_OK));
	while (query_long(admin, "SELECT count(*) FROM pg_stat_activity"
					  " WHERE backend_type = 'dbreset worker'") != 0)
		usleep(1000);
}

/*
 * Make sure a standing worker waits for the next call, as it would in a
 * series of calls (the other contenders may have sent it away): an
 * untimed call that runs a job and changes nothing.  Without standing
 * workers (before 17, not preloaded) the worker just exits.
 */
static void
warm_worker(void)
{
	PQclear(run_sql(admin, "SELECT dbreset.drop_spares('" ADMIN_DB "')",
					PGRES_TUPLES_OK));
}

/*
 * One complete sample: set up benchdb with the scenario's sessions, time
 * contender c dropping it, clean up.
 */
static double
run_sample(const Scenario *sc, Contender c)
{
	double		ms;

	create_benchdb();
	open_sessions(BENCH_DB, sc->nsessions);
	if (sc->active)
		start_active_queries();
	wait_sessions_visible(BENCH_DB, sc->nsessions, sc->active);
	if (c == C_PERCALL)
		set_idle_timeout("0");
	if (c == C_FIRST || c == C_PERCALL)
		end_idle_workers();
	if (c == C_DBRESET)
		warm_worker();
	ms = timed_drop(c, sc->nsessions);
	if (c == C_PERCALL)
		set_idle_timeout(NULL);
	close_sessions();
	return ms;
}

/*
 * Whether contender c takes part in scenario sc.
 */
static bool
applies(const Scenario *sc, Contender c, const bool want[NUM_CONTENDERS])
{
	if (!want[c])
		return false;
	/* plain DROP DATABASE fails if sessions are connected */
	return c != C_PLAIN || sc->nsessions == 0;
}

/*
 * Label for a scenario's flavour column.
 */
static const char *
flavour(const Scenario *sc)
{
	if (sc->nsessions == 0)
		return "none";
	return sc->active ? "active" : "idle";
}

/*
 * Run all samples of one scenario, contenders round-robin, and compute
 * the medians.
 */
static void
run_scenario(Scenario *sc, const bool want[NUM_CONTENDERS])
{
	double		start = now_ms();
	int			round;
	int			c;

	for (c = 0; c < NUM_CONTENDERS; c++)
	{
		sc->samples[c] = NULL;
		sc->median[c] = -1;
		if (!applies(sc, c, want))
			continue;
		sc->samples[c] = malloc(sizeof(double) * sc->nsamples);
		if (sc->samples[c] == NULL)
			die("out of memory");
	}

	for (round = 0; round < sc->nsamples; round++)
	{
		for (c = 0; c < NUM_CONTENDERS; c++)
		{
			if (sc->samples[c] == NULL)
				continue;
			sc->samples[c][round] = run_sample(sc, c);
			if (verbose)
				fprintf(stderr, "dropbench: N=%d %s %s sample %d: %.2f ms\n",
						sc->nsessions, flavour(sc), contender_names[c],
						round + 1, sc->samples[c][round]);
		}
	}

	for (c = 0; c < NUM_CONTENDERS; c++)
		if (sc->samples[c] != NULL)
			sc->median[c] = median(sc->samples[c], sc->nsamples);

	fprintf(stderr, "dropbench: N=%d %s: %d rounds in %.1f s\n",
			sc->nsessions, flavour(sc), sc->nsamples,
			(now_ms() - start) / 1000.0);
}

/*
 * Where the time of a drop goes, for the scenarios where signal,
 * terminate, floor and dbreset were all measured: differences of medians,
 * so only roughly additive.
 */
static void
print_breakdown(const Scenario *scs, int nscs)
{
	bool		header = false;
	int			i;

	for (i = 0; i < nscs; i++)
	{
		const double *m = scs[i].median;

		if (m[C_SIGNAL] < 0 || m[C_TERMINATE] < 0 || m[C_FLOOR] < 0 ||
			m[C_DBRESET] < 0)
			continue;
		if (!header)
		{
			printf("\nWhere the time goes (ms, differences of medians):"
				   " signals = signal, the statement that sends them (the"
				   " exits it starts already take the CPUs from it);"
				   " exits after = terminate - signal; per session ="
				   " terminate / N; DROP = floor - terminate; dbreset's"
				   " own = dbreset - floor.\n\n");
			printf("| N | sessions | signals | exits after"
				   " | signals and exits per session"
				   " | DROP | dbreset's own | dbreset |\n");
			printf("|--:|---|--:|--:|--:|--:|--:|--:|\n");
			header = true;
		}
		printf("| %d | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.1f |\n",
			   scs[i].nsessions, flavour(&scs[i]), m[C_SIGNAL],
			   m[C_TERMINATE] - m[C_SIGNAL],
			   scs[i].nsessions > 0 ? m[C_TERMINATE] / scs[i].nsessions : 0.0,
			   m[C_FLOOR] - m[C_TERMINATE], m[C_DBRESET] - m[C_FLOOR],
			   m[C_DBRESET]);
	}
}

/*
 * Print the markdown report.
 */
static void
print_report(const Scenario *scs, int nscs)
{
	PGresult   *res = run_sql(admin, "SELECT version()", PGRES_TUPLES_OK);
	double		idle10 = -1,
				active10 = -1,
				plain0 = -1,
				floor10 = -1;
	int			i;

	printf("# dropbench\n\n");
	printf("Server: %s\n\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	printf("Median wall time in ms of dropping `" BENCH_DB "` with N other"
		   " sessions connected (idle, or active in `" ACTIVE_QUERY "`),"
		   " timed on the client; contenders alternated round-robin;"
		   " `" BENCH_DB "` created from template0 before each sample;"
		   " `-` = not measured.\n\n");

	printf("| N | sessions | samples | dbreset | force | recipe | plain"
		   " | first | percall | floor | signal | terminate"
		   " | dbreset/force | dbreset/recipe | dbreset/plain"
		   " | first/plain | percall/plain | dbreset/floor |\n");
	printf("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:"
		   "|--:|--:|\n");
	for (i = 0; i < nscs; i++)
	{
		const Scenario *sc = &scs[i];
		const double *m = sc->median;
		int			c;

		printf("| %d | %s | %d |", sc->nsessions, flavour(sc), sc->nsamples);
		for (c = 0; c < NUM_CONTENDERS; c++)
			print_cell(m[c], "%.1f");
		print_cell(ratio(m[C_DBRESET], m[C_FORCE]), "%.2f");
		print_cell(ratio(m[C_DBRESET], m[C_RECIPE]), "%.2f");
		print_cell(ratio(m[C_DBRESET], m[C_PLAIN]), "%.2f");
		print_cell(ratio(m[C_FIRST], m[C_PLAIN]), "%.2f");
		print_cell(ratio(m[C_PERCALL], m[C_PLAIN]), "%.2f");
		print_cell(ratio(m[C_DBRESET], m[C_FLOOR]), "%.2f");
		putchar('\n');

		if (sc->nsessions == 10 && !sc->active)
			idle10 = ratio(m[C_DBRESET], m[C_FORCE]);
		if (sc->nsessions == 10 && sc->active)
			active10 = ratio(m[C_DBRESET], m[C_FORCE]);
		if (sc->nsessions == 0)
			plain0 = ratio(m[C_DBRESET], m[C_PLAIN]);
		if (sc->nsessions == 10 && !sc->active)
			floor10 = ratio(m[C_DBRESET], m[C_FLOOR]);
	}

	print_breakdown(scs, nscs);

	printf("\nTargets (informative):\n\n");
	print_target("N=10 idle", "dbreset/force", idle10, 0.25);
	print_target("N=10 active", "dbreset/force", active10, 0.25);
	print_target("N=0", "dbreset/plain", plain0, 1.2);
	print_target("N=10 idle", "dbreset/floor", floor10, 1.15);
	fflush(stdout);
}

/*
 * Parse a comma-separated list of contender names into want[].
 */
static void
parse_contenders(const char *arg, bool want[NUM_CONTENDERS])
{
	char	   *list = strdup(arg);
	char	   *tok;
	int			c;

	if (list == NULL)
		die("out of memory");
	for (c = 0; c < NUM_CONTENDERS; c++)
		want[c] = false;
	for (tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ","))
	{
		for (c = 0; c < NUM_CONTENDERS; c++)
			if (strcmp(tok, contender_names[c]) == 0)
				break;
		if (c == NUM_CONTENDERS)
			die("unknown contender \"%s\" (known: dbreset,force,recipe,plain,first,percall,floor,signal,terminate)",
				tok);
		want[c] = true;
	}
	free(list);
}

/*
 * Print usage.
 */
static void
usage(void)
{
	printf("Usage: dropbench [OPTION]... [CONNINFO]\n"
		   "Time dropping a database with N sessions connected.\n\n"
		   "CONNINFO is a libpq connection string or URI (default: PG*"
		   " environment);\n"
		   "its database name is ignored (\"" ADMIN_DB "\" and \"" BENCH_DB
		   "\" are used).\n\n"
		   "Options:\n"
		   "  -c LIST   contenders to run (default dbreset,force,recipe,plain,floor;\n"
		   "            also first, percall, signal, terminate)\n"
		   "  -N LIST   session counts (default 0,10,100)\n"
		   "  -n NUM    samples per contender per scenario\n"
		   "            (default 15 for N <= 10, 7 above)\n"
		   "  -f        drop a pre-existing database \"" BENCH_DB "\"\n"
		   "  -v        print every sample on stderr\n"
		   "  -h        show this help\n");
}

/*
 * Parse options, build the scenario list, run it, print the report.
 */
int
main(int argc, char **argv)
{
	bool		want[NUM_CONTENDERS] = {true, true, true, true, false, false,
	true};
	int			ns[MAX_SCENARIO_NS] = {0, 10, 100};
	int			nns = 3;
	int			nsamples = 0;	/* 0 = per-N default */
	bool		drop_existing = false;
	Scenario   *scs;
	int			nscs = 0;
	int			max_n = 0;
	int			opt;
	int			i;

	progname = "dropbench";
	die_hook = drop_benchdb_on_error;

	while ((opt = getopt(argc, argv, "c:N:n:fvh")) != -1)
	{
		switch (opt)
		{
			case 'c':
				parse_contenders(optarg, want);
				break;
			case 'N':
				nns = parse_ns(optarg, ns, MAX_SCENARIO_NS);
				break;
			case 'n':
				nsamples = atoi(optarg);
				if (nsamples < 1)
					die("invalid sample count \"%s\"", optarg);
				break;
			case 'f':
				drop_existing = true;
				break;
			case 'v':
				verbose = true;
				break;
			case 'h':
				usage();
				return 0;
			default:
				fprintf(stderr, "Try \"dropbench -h\" for more information.\n");
				return 2;
		}
	}
	if (optind < argc)
		conninfo = argv[optind++];
	if (optind < argc)
	{
		fprintf(stderr, "dropbench: too many arguments\n");
		return 2;
	}

	/* N = 0 is one scenario; any other N is an idle and an active one. */
	scs = calloc(nns * 2, sizeof(Scenario));
	if (scs == NULL)
		die("out of memory");
	for (i = 0; i < nns; i++)
	{
		int			n = ns[i];
		int			samples = nsamples > 0 ? nsamples : (n <= 10 ? 15 : 7);

		if (n > max_n)
			max_n = n;
		scs[nscs].nsessions = n;
		scs[nscs].active = false;
		scs[nscs++].nsamples = samples;
		if (n > 0)
		{
			scs[nscs].nsessions = n;
			scs[nscs].active = true;
			scs[nscs++].nsamples = samples;
		}
	}

	sessions = calloc(max_n + 1, sizeof(PGconn *));
	if (sessions == NULL)
		die("out of memory");

	connect_admin(want, max_n, drop_existing);

	for (i = 0; i < nscs; i++)
		run_scenario(&scs[i], want);

	print_report(scs, nscs);
	PQfinish(admin);

	for (i = 0; i < nscs; i++)
	{
		int			c;

		for (c = 0; c < NUM_CONTENDERS; c++)
			free(scs[i].samples[c]);
	}
	free(scs);
	free(sessions);
	return 0;
}
