/*-------------------------------------------------------------------------
 *
 * benchlib.h
 *	  Helpers shared by the benchmark programs of bench/ (dropbench,
 *	  resetbench): error exit with a cleanup hook, timing, libpq
 *	  connections and queries, the sessions of a sample, medians and the
 *	  cells of a markdown report.
 *
 * The programs are single-threaded and keep their state in the globals
 * declared here: the connection parameters, the admin connection to
 * database ADMIN_DB on which everything is timed, and the sessions of the
 * sample in progress, which die() closes.
 *
 * IDENTIFICATION
 *	  bench/benchlib.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stdbool.h>

#include "libpq-fe.h"

#define ADMIN_DB			"postgres"
#define ACTIVE_QUERY		"SELECT pg_sleep(600)"
#define SETUP_TIMEOUT_MS	30000.0

/* Set by the program before anything else */
extern const char *progname;	/* for messages and application_name */
extern void (*die_hook) (void); /* run by die() after closing sessions */

extern const char *conninfo;	/* from argv; NULL means env only */
extern PGconn *admin;			/* connection to ADMIN_DB */
extern int	server_version;		/* PQserverVersion(admin) */
extern bool verbose;

/* Session connections of the sample in progress, for cleanup on error */
extern PGconn **sessions;		/* allocated by the program: max N + 1 */
extern int	nsessions_open;

extern void die(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
extern char *psprintf(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));
extern bool admin_usable(void);
extern double now_ms(void);
extern void sleep_ms(long ms);

extern void conn_params(const char *dbname, const char *appname,
						const char **keywords, const char **values);
extern void connect_admin_db(void);
extern void check_max_connections(int max_n);
extern bool function_exists(const char *signature);
extern char *quote_literal(const char *str);

extern PGresult *run_sql(PGconn *conn, const char *sql,
						 ExecStatusType expected);
extern void run_command(PGconn *conn, const char *sql);
extern long query_long(PGconn *conn, const char *sql);

extern void open_sessions(const char *dbname, int n);
extern void start_active_queries(void);
extern void wait_sessions_visible(const char *dbname, int n, bool active);
extern void close_sessions(void);

extern double median(double *v, int n);
extern double ratio(double a, double b);
extern void print_cell(double v, const char *fmt);
extern void print_target(const char *label, const char *what, double r,
						 double target);
extern int	parse_ns(const char *arg, int *ns, int max_ns);

#endif							/* BENCHLIB_H */
