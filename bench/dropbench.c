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
 * bench/run wraps this with a throwaway cluster.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define BENCH_DB			"benchdb"
#define ADMIN_DB			"postgres"
#define SESSION_APPNAME		"dropbench session"
#define ACTIVE_QUERY		"SELECT pg_sleep(600)"
#define SETUP_TIMEOUT_MS	30000.0
#define MAX_SCENARIO_NS		8

typedef enum Contender
{
	C_DBRESET,
	C_FORCE,
	C_RECIPE,
	C_PLAIN,
	NUM_CONTENDERS
} Contender;

static const char *const contender_names[NUM_CONTENDERS] = {
	"dbreset", "force", "recipe", "plain"
};

/* One (N, flavour) combination and the samples measured for it. */
typedef struct Scenario
{
	int			nsessions;		/* N: other sessions on benchdb */
	bool		active;			/* sessions run pg_sleep() rather than idle */
	int			nsamples;		/* samples per contender */
	double	   *samples[NUM_CONTENDERS];	/* ms; NULL if contender not run */
	double		median[NUM_CONTENDERS]; /* ms; < 0 if contender not run */
} Scenario;

static const char *conninfo = NULL; /* from argv; NULL means env only */
static PGconn *admin = NULL;	/* connection to ADMIN_DB */
static int	server_version = 0;
static bool verbose = false;

/* Session connections of the sample in progress, for cleanup on error. */
static PGconn **sessions = NULL;
static int	nsessions_open = 0;
static bool benchdb_ours = false;	/* we created benchdb and may drop it */

static void die(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));


/*
 * Report an error on stderr and exit with status 1.
 *
 * Before exiting, try to leave the server as we found it: close the
 * sessions of the sample in progress and drop benchdb if we created it.
 */
static void
die(const char *fmt,...)
{
	va_list		ap;
	int			i;

	fprintf(stderr, "dropbench: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);

	for (i = 0; i < nsessions_open; i++)
		PQfinish(sessions[i]);
	nsessions_open = 0;

	/* the admin connection may itself be what failed: reconnect if so */
	if (admin != NULL && benchdb_ours && PQstatus(admin) != CONNECTION_OK)
		PQreset(admin);
	if (admin != NULL && benchdb_ours && PQstatus(admin) == CONNECTION_OK)
	{
		PGresult   *res;

		/* Don't let a half-finished query on admin get in the way. */
		while ((res = PQgetResult(admin)) != NULL)
			PQclear(res);
		PQclear(PQexec(admin,
					   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
					   " WHERE datname = '" BENCH_DB "'"
					   " AND pid <> pg_backend_pid()"));
		PQclear(PQexec(admin, "DROP DATABASE IF EXISTS " BENCH_DB));
	}
	if (admin != NULL)
		PQfinish(admin);
	exit(1);
}

/*
 * Current CLOCK_MONOTONIC time in milliseconds.
 */
static double
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime failed: %s", strerror(errno));
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

/*
 * Sleep for the given number of milliseconds.
 */
static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Fill keywords/values (arrays of at least 4) with the parameters for a
 * connection to database dbname on the user's server: the user's conninfo
 * (if any) expanded first, then dbname and application_name overriding it.
 */
static void
conn_params(const char *dbname, const char *appname,
			const char **keywords, const char **values)
{
	int			n = 0;

	if (conninfo != NULL && conninfo[0] != '\0')
	{
		keywords[n] = "dbname";
		values[n++] = conninfo;
	}
	keywords[n] = "dbname";
	values[n++] = dbname;
	keywords[n] = "application_name";
	values[n++] = appname;
	keywords[n] = NULL;
	values[n] = NULL;
}

/*
 * Run one statement on conn and return its result, dying unless the
 * result status is the expected one.  The caller must PQclear() it.
 */
static PGresult *
run_sql(PGconn *conn, const char *sql, ExecStatusType expected)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != expected)
		die("\"%s\" failed: %s", sql,
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	return res;
}

/*
 * Run a command that returns no rows, dying on error.
 */
static void
run_command(PGconn *conn, const char *sql)
{
	PQclear(run_sql(conn, sql, PGRES_COMMAND_OK));
}

/*
 * Run a query returning one row and one column and return it as a long.
 */
static long
query_long(PGconn *conn, const char *sql)
{
	PGresult   *res = run_sql(conn, sql, PGRES_TUPLES_OK);
	long		val;

	if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0))
		die("\"%s\" did not return a single value", sql);
	val = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return val;
}

/*
 * Open the admin connection (to database ADMIN_DB) and check that the
 * server can run what was asked of it.
 */
static void
connect_admin(bool want[NUM_CONTENDERS], int max_n, bool drop_existing)
{
	const char *keywords[4];
	const char *values[4];
	long		reserved;

	conn_params(ADMIN_DB, "dropbench", keywords, values);
	admin = PQconnectdbParams(keywords, values, 1);
	if (admin == NULL || PQstatus(admin) != CONNECTION_OK)
		die("could not connect to the server: %s",
			admin ? PQerrorMessage(admin) : "out of memory");
	server_version = PQserverVersion(admin);

	if (want[C_FORCE] && server_version < 130000)
		die("contender \"force\" needs PostgreSQL 13 or later;"
			" skip it with -c");
	if (want[C_DBRESET] &&
		query_long(admin, "SELECT count(*) WHERE to_regprocedure("
				   "'dbreset.force_drop_database(name, boolean, interval)')"
				   " IS NOT NULL") == 0)
		die("function dbreset.force_drop_database(name, boolean, interval)"
			" not found in database \"" ADMIN_DB "\": CREATE EXTENSION dbreset,"
			" or skip the contender with -c");
	/* room for the sessions, admin, autovacuum and some slack */
	reserved = query_long(admin, "SELECT current_setting("
						  "'superuser_reserved_connections')::int");
	if (query_long(admin, "SELECT current_setting('max_connections')::int")
		< max_n + 10 + reserved)
		die("server max_connections too low for %d sessions: need at least %ld",
			max_n, max_n + 10 + reserved);

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
 * Open n connections to benchdb in parallel, using the non-blocking
 * PQconnectStartParams()/PQconnectPoll() interface so that the backends
 * start up concurrently; leaves them in the global sessions array.
 */
static void
open_sessions(int n)
{
	const char *keywords[4];
	const char *values[4];
	PostgresPollingStatusType *state;
	struct pollfd *fds;
	int		   *fdconn;
	int			pending = n;
	double		deadline = now_ms() + SETUP_TIMEOUT_MS;
	int			i;

	state = malloc(sizeof(*state) * (n + 1));
	fds = malloc(sizeof(*fds) * (n + 1));
	fdconn = malloc(sizeof(*fdconn) * (n + 1));
	if (state == NULL || fds == NULL || fdconn == NULL)
		die("out of memory");

	conn_params(BENCH_DB, SESSION_APPNAME, keywords, values);
	for (i = 0; i < n; i++)
	{
		sessions[i] = PQconnectStartParams(keywords, values, 1);
		if (sessions[i] == NULL)
			die("out of memory");
		nsessions_open = i + 1;
		if (PQstatus(sessions[i]) == CONNECTION_BAD)
			die("could not start connection to " BENCH_DB ": %s",
				PQerrorMessage(sessions[i]));
		/* Per the libpq docs, start by waiting for the socket to be writable */
		state[i] = PGRES_POLLING_WRITING;
	}

	while (pending > 0)
	{
		int			nfds = 0;
		int			rc;

		for (i = 0; i < n; i++)
		{
			if (state[i] == PGRES_POLLING_OK)
				continue;
			/* the socket may change during connection setup: refetch it */
			fds[nfds].fd = PQsocket(sessions[i]);
			fds[nfds].events =
				state[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			fds[nfds].revents = 0;
			fdconn[nfds++] = i;
		}

		rc = poll(fds, nfds, 100);
		if (rc < 0 && errno != EINTR)
			die("poll failed: %s", strerror(errno));

		for (i = 0; rc > 0 && i < nfds; i++)
		{
			int			c = fdconn[i];

			if (fds[i].revents == 0)
				continue;
			state[c] = PQconnectPoll(sessions[c]);
			if (state[c] == PGRES_POLLING_FAILED)
				die("could not connect to " BENCH_DB ": %s",
					PQerrorMessage(sessions[c]));
			if (state[c] == PGRES_POLLING_OK)
				pending--;
		}

		if (pending > 0 && now_ms() > deadline)
			die("timed out connecting %d sessions to " BENCH_DB
				" (%d still pending)", n, pending);
	}

	free(state);
	free(fds);
	free(fdconn);
}

/*
 * Send ACTIVE_QUERY on every open session without waiting for it.
 */
static void
start_active_queries(void)
{
	int			i;

	for (i = 0; i < nsessions_open; i++)
	{
		if (!PQsendQuery(sessions[i], ACTIVE_QUERY))
			die("could not send query on session %d: %s", i,
				PQerrorMessage(sessions[i]));
		/* blocking connection: PQsendQuery has flushed the query */
	}
}

/*
 * Wait until pg_stat_activity shows all n sessions on benchdb in the
 * expected state, so that the drop really has n sessions to get rid of.
 */
static void
wait_sessions_visible(int n, bool active)
{
	const char *sql = active ?
		"SELECT count(*) FROM pg_stat_activity"
		" WHERE datname = '" BENCH_DB "'"
		" AND application_name = '" SESSION_APPNAME "'"
		" AND state = 'active' AND query = '" ACTIVE_QUERY "'" :
		"SELECT count(*) FROM pg_stat_activity"
		" WHERE datname = '" BENCH_DB "'"
		" AND application_name = '" SESSION_APPNAME "'"
		" AND state = 'idle'";
	double		deadline = now_ms() + SETUP_TIMEOUT_MS;
	long		seen;

	while ((seen = query_long(admin, sql)) != n)
	{
		if (now_ms() > deadline)
			die("timed out waiting for %d %s sessions on " BENCH_DB
				" (pg_stat_activity shows %ld)",
				n, active ? "active" : "idle", seen);
		sleep_ms(1);
	}
}

/*
 * Close the sessions of a sample.  They have been terminated by the drop,
 * so any error here is expected and ignored.
 */
static void
close_sessions(void)
{
	int			i;

	for (i = 0; i < nsessions_open; i++)
		PQfinish(sessions[i]);
	nsessions_open = 0;
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
	if (c == C_DBRESET)
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

	check_dropped(c);
	return elapsed;
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
	open_sessions(sc->nsessions);
	if (sc->active)
		start_active_queries();
	wait_sessions_visible(sc->nsessions, sc->active);
	ms = timed_drop(c, sc->nsessions);
	close_sessions();
	return ms;
}

/*
 * qsort comparator for doubles.
 */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Median of n values (sorts them in place).
 */
static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
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
 * Print a median (ms) or ratio cell of the table; "-" if not measured.
 */
static void
print_cell(double v, const char *fmt)
{
	if (v < 0)
		printf(" - |");
	else
	{
		putchar(' ');
		printf(fmt, v);
		printf(" |");
	}
}

/*
 * Ratio a/b of two medians, or -1 if either was not measured.
 */
static double
ratio(double a, double b)
{
	return (a < 0 || b <= 0) ? -1 : a / b;
}

/*
 * Print one informative target check line.
 */
static void
print_target(const char *label, const char *what, double r, double target)
{
	if (r < 0)
		printf("- %s: %s = n/a (target <= %g; not measured)\n",
			   label, what, target);
	else
		printf("- %s: %s = %.2f (target <= %g) %s\n",
			   label, what, r, target, r <= target ? "met" : "MISSED");
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
				plain0 = -1;
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
		   " | dbreset/force | dbreset/recipe | dbreset/plain |\n");
	printf("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
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
		putchar('\n');

		if (sc->nsessions == 10 && !sc->active)
			idle10 = ratio(m[C_DBRESET], m[C_FORCE]);
		if (sc->nsessions == 10 && sc->active)
			active10 = ratio(m[C_DBRESET], m[C_FORCE]);
		if (sc->nsessions == 0)
			plain0 = ratio(m[C_DBRESET], m[C_PLAIN]);
	}

	printf("\nTargets (informative):\n\n");
	print_target("N=10 idle", "dbreset/force", idle10, 0.25);
	print_target("N=10 active", "dbreset/force", active10, 0.25);
	print_target("N=0", "dbreset/plain", plain0, 1.7);
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
			die("unknown contender \"%s\" (known: dbreset,force,recipe,plain)",
				tok);
		want[c] = true;
	}
	free(list);
}

/*
 * Parse a comma-separated list of session counts; returns how many.
 */
static int
parse_ns(const char *arg, int *ns)
{
	char	   *list = strdup(arg);
	char	   *tok;
	int			count = 0;

	if (list == NULL)
		die("out of memory");
	for (tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ","))
	{
		char	   *end;
		long		v = strtol(tok, &end, 10);

		if (*end != '\0' || end == tok || v < 0 || v > 10000)
			die("invalid session count \"%s\"", tok);
		if (count == MAX_SCENARIO_NS)
			die("too many session counts (max %d)", MAX_SCENARIO_NS);
		ns[count++] = (int) v;
	}
	free(list);
	if (count == 0)
		die("empty list of session counts");
	return count;
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
		   "  -c LIST   contenders to run (default dbreset,force,recipe,plain)\n"
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
	bool		want[NUM_CONTENDERS] = {true, true, true, true};
	int			ns[MAX_SCENARIO_NS] = {0, 10, 100};
	int			nns = 3;
	int			nsamples = 0;	/* 0 = per-N default */
	bool		drop_existing = false;
	Scenario   *scs;
	int			nscs = 0;
	int			max_n = 0;
	int			opt;
	int			i;

	while ((opt = getopt(argc, argv, "c:N:n:fvh")) != -1)
	{
		switch (opt)
		{
			case 'c':
				parse_contenders(optarg, want);
				break;
			case 'N':
				nns = parse_ns(optarg, ns);
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
