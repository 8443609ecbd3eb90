/*-------------------------------------------------------------------------
 *
 * benchlib.c
 *	  Helpers shared by the benchmark programs of bench/: error exit with
 *	  a cleanup hook, timing, libpq connections and queries, the sessions
 *	  of a sample, medians and the cells of a markdown report.
 *
 * Everything that can fail calls die(), which reports the error, closes
 * the sessions of the sample in progress, runs the program's cleanup hook
 * (die_hook: drop what the program created) and exits with status 1.
 * Sessions are named "<progname> session" in application_name, so that
 * wait_sessions_visible() counts only ours.
 *
 * IDENTIFICATION
 *	  bench/benchlib.c
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"

const char *progname = "bench";
void		(*die_hook) (void) = NULL;

const char *conninfo = NULL;
PGconn	   *admin = NULL;
int			server_version = 0;
bool		verbose = false;

PGconn	  **sessions = NULL;
int			nsessions_open = 0;


/*
 * Report an error on stderr and exit with status 1.
 *
 * Before exiting, try to leave the server as we found it: close the
 * sessions of the sample in progress, then run the program's die_hook
 * (once: a die() from within the hook does not run it again), then close
 * the admin connection.
 */
void
die(const char *fmt,...)
{
	va_list		ap;
	void		(*hook) (void) = die_hook;
	int			i;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);

	for (i = 0; i < nsessions_open; i++)
		PQfinish(sessions[i]);
	nsessions_open = 0;

	die_hook = NULL;
	if (hook != NULL)
		hook();
	if (admin != NULL)
		PQfinish(admin);
	exit(1);
}

/*
 * Format a string into newly malloc'ed memory, dying if out of memory.
 * The caller may free() it.
 */
char *
psprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *buf;
	int			len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		die("could not format string \"%s\"", fmt);
	buf = malloc(len + 1);
	if (buf == NULL)
		die("out of memory");
	va_start(ap, fmt);
	vsnprintf(buf, len + 1, fmt, ap);
	va_end(ap);
	return buf;
}

/*
 * Get the admin connection ready for cleanup statements in a die_hook:
 * reconnect if the connection itself is what failed, and throw away what
 * a half-finished query left.  Returns whether the connection is usable.
 */
bool
admin_usable(void)
{
	PGresult   *res;

	if (admin == NULL)
		return false;
	if (PQstatus(admin) != CONNECTION_OK)
		PQreset(admin);
	if (PQstatus(admin) != CONNECTION_OK)
		return false;
	/* Don't let a half-finished query on admin get in the way. */
	while ((res = PQgetResult(admin)) != NULL)
		PQclear(res);
	return true;
}

/*
 * Current CLOCK_MONOTONIC time in milliseconds.
 */
double
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
void
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
void
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
 * Open the admin connection to database ADMIN_DB, with the program's name
 * as application_name, and note the server version.
 */
void
connect_admin_db(void)
{
	const char *keywords[4];
	const char *values[4];

	conn_params(ADMIN_DB, progname, keywords, values);
	admin = PQconnectdbParams(keywords, values, 1);
	if (admin == NULL || PQstatus(admin) != CONNECTION_OK)
		die("could not connect to the server: %s",
			admin ? PQerrorMessage(admin) : "out of memory");
	server_version = PQserverVersion(admin);
}

/*
 * Die unless the server has room for max_n sessions besides the admin
 * connection, autovacuum, background workers and some slack.
 */
void
check_max_connections(int max_n)
{
	long		reserved;

	reserved = query_long(admin, "SELECT current_setting("
						  "'superuser_reserved_connections')::int");
	if (query_long(admin, "SELECT current_setting('max_connections')::int")
		< max_n + 10 + reserved)
		die("server max_connections too low for %d sessions: need at least %ld",
			max_n, max_n + 10 + reserved);
}

/*
 * Whether the function with the given regprocedure signature, such as
 * "dbreset.reset_database(name, name, boolean, interval, interval)", exists in
 * database ADMIN_DB.  The signature must not contain a quote.
 */
bool
function_exists(const char *signature)
{
	char	   *sql = psprintf("SELECT count(*) WHERE to_regprocedure('%s')"
							   " IS NOT NULL", signature);
	long		found = query_long(admin, sql);

	free(sql);
	return found != 0;
}

/*
 * Quote str as an SQL string literal for the admin connection; the result
 * is malloc'ed, for free().
 */
char *
quote_literal(const char *str)
{
	char	   *quoted = PQescapeLiteral(admin, str, strlen(str));
	char	   *result;

	if (quoted == NULL)
		die("could not quote \"%s\": %s", str, PQerrorMessage(admin));
	result = psprintf("%s", quoted);
	PQfreemem(quoted);
	return result;
}

/*
 * Run one statement on conn and return its result, dying unless the
 * result status is the expected one.  The caller must PQclear() it.
 */
PGresult *
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
void
run_command(PGconn *conn, const char *sql)
{
	PQclear(run_sql(conn, sql, PGRES_COMMAND_OK));
}

/*
 * Run a query returning one row and one column and return it as a long.
 */
long
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
 * Open n connections to database dbname in parallel, using the
 * non-blocking PQconnectStartParams()/PQconnectPoll() interface so that
 * the backends start up concurrently; leaves them in the global sessions
 * array, which must have room for n.
 */
void
open_sessions(const char *dbname, int n)
{
	const char *keywords[4];
	const char *values[4];
	char	   *appname = psprintf("%s session", progname);
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

	conn_params(dbname, appname, keywords, values);
	for (i = 0; i < n; i++)
	{
		sessions[i] = PQconnectStartParams(keywords, values, 1);
		if (sessions[i] == NULL)
			die("out of memory");
		nsessions_open = i + 1;
		if (PQstatus(sessions[i]) == CONNECTION_BAD)
			die("could not start connection to %s: %s", dbname,
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
				die("could not connect to %s: %s", dbname,
					PQerrorMessage(sessions[c]));
			if (state[c] == PGRES_POLLING_OK)
				pending--;
		}

		if (pending > 0 && now_ms() > deadline)
			die("timed out connecting %d sessions to %s (%d still pending)",
				n, dbname, pending);
	}

	free(state);
	free(fds);
	free(fdconn);
	free(appname);
}

/*
 * Send ACTIVE_QUERY on every open session without waiting for it.
 */
void
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
 * Wait until pg_stat_activity shows all n sessions of ours on database
 * dbname in the expected state (active in ACTIVE_QUERY, or idle), so that
 * what is timed next really has n sessions to get rid of.
 */
void
wait_sessions_visible(const char *dbname, int n, bool active)
{
	char	   *qdbname = quote_literal(dbname);
	char	   *appname = psprintf("%s session", progname);
	char	   *qappname = quote_literal(appname);
	char	   *sql;
	double		deadline = now_ms() + SETUP_TIMEOUT_MS;
	long		seen;

	if (active)
		sql = psprintf("SELECT count(*) FROM pg_stat_activity"
					   " WHERE datname = %s AND application_name = %s"
					   " AND state = 'active' AND query = '" ACTIVE_QUERY "'",
					   qdbname, qappname);
	else
		sql = psprintf("SELECT count(*) FROM pg_stat_activity"
					   " WHERE datname = %s AND application_name = %s"
					   " AND state = 'idle'",
					   qdbname, qappname);

	while ((seen = query_long(admin, sql)) != n)
	{
		if (now_ms() > deadline)
			die("timed out waiting for %d %s sessions on %s"
				" (pg_stat_activity shows %ld)",
				n, active ? "active" : "idle", dbname, seen);
		sleep_ms(1);
	}
	free(sql);
	free(qappname);
	free(appname);
	free(qdbname);
}

/*
 * Close the sessions of a sample.  They have usually been terminated by
 * what was timed, so any error here is expected and ignored.
 */
void
close_sessions(void)
{
	int			i;

	for (i = 0; i < nsessions_open; i++)
		PQfinish(sessions[i]);
	nsessions_open = 0;
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
double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/*
 * Ratio a/b of two medians, or -1 if either was not measured.
 */
double
ratio(double a, double b)
{
	return (a < 0 || b <= 0) ? -1 : a / b;
}

/*
 * Print a median (ms) or ratio cell of the table; "-" if not measured.
 */
void
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
 * Print one informative target check line.
 */
void
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
 * Parse a comma-separated list of at most max_ns session counts into ns;
 * returns how many.
 */
int
parse_ns(const char *arg, int *ns, int max_ns)
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
		if (count == max_ns)
			die("too many session counts (max %d)", max_ns);
		ns[count++] = (int) v;
	}
	free(list);
	if (count == 0)
		die("empty list of session counts");
	return count;
}
