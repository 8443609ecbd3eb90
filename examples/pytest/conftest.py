"""pytest fixtures that give every test a fresh database, with dbreset.

    db      a psycopg 3 connection to a fresh copy of the template, made by
            SELECT dbreset.reset_database(name, template, keep_spare => true)
            just before the test

The template is built once per test session (template_db), from SCHEMA, and
sealed (IS_TEMPLATE, ALLOW_CONNECTIONS false) so that reset_database() can
keep a spare copy ready: each reset after the first swaps in a copy made in
the background while the previous test ran.  See README.md here.

Connection settings come from the usual PG* variables (PGHOST, PGPORT,
PGUSER, PGPASSWORD); the role needs CREATEDB and EXECUTE on
dbreset.reset_database() and dbreset.drop_spares() (the teardown's), both
revoked from PUBLIC (a superuser has all of it).  DBRESET_ADMIN_DB names the database the
resets are called from (default "postgres"), which must have the extension.
"""
import os

import psycopg
import pytest
from psycopg import sql

ADMIN_DB = os.environ.get("DBRESET_ADMIN_DB", "postgres")
# with pytest-xdist, each worker ("gw0", "gw1", ...) gets its own template
# and database: a reset terminates every session of its database
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEMPLATE = "myapp_template" + (f"_{_WORKER}" if _WORKER else "")
TEST_DB = "myapp_test" + (f"_{_WORKER}" if _WORKER else "")

# your schema and seed data (or run your migrations against the template)
SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY,
                     customer_id int NOT NULL REFERENCES customers,
                     amount numeric(10, 2) NOT NULL);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');
INSERT INTO orders VALUES (1, 1, 10.00);
"""


@pytest.fixture(scope="session")
def admin_conn():
    """One autocommit connection for the whole session: reset_database()
    commits on its own and refuses a transaction block."""
    with psycopg.connect(dbname=ADMIN_DB, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def template_db(admin_conn):
    """Build the template once per session, seal it, and make sure the test
    database exists; at the end, drop the spare kept for the next reset."""
    tpl, db = sql.Identifier(TEMPLATE), sql.Identifier(TEST_DB)
    # a template left by an earlier session: unseal it to drop it
    if admin_conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                          (TEMPLATE,)).fetchone():
        admin_conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(tpl))
        admin_conn.execute(sql.SQL("DROP DATABASE {}").format(tpl))
    admin_conn.execute(sql.SQL("CREATE DATABASE {}").format(tpl))
    with psycopg.connect(dbname=TEMPLATE, autocommit=True) as conn:
        conn.execute(SCHEMA)
    admin_conn.execute(sql.SQL(
        "ALTER DATABASE {} IS_TEMPLATE true ALLOW_CONNECTIONS false").format(tpl))
    if not admin_conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (TEST_DB,)).fetchone():
        admin_conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(db, tpl))
        # a setting of the database: reset_database() keeps it
        admin_conn.execute(sql.SQL(
            "ALTER DATABASE {} SET statement_timeout = '1min'").format(db))
    yield TEMPLATE
    admin_conn.execute("SELECT dbreset.drop_spares(%s)", (TEST_DB,))


@pytest.fixture
def db(admin_conn, template_db):
    """A connection to a fresh copy of the template.  The reset terminates
    whatever is still connected to the database (a connection a previous
    test leaked, say)."""
    admin_conn.execute(
        "SELECT dbreset.reset_database(%s, %s, keep_spare => true)",
        (TEST_DB, template_db))
    # not "with psycopg.connect(...)": that would commit what the test
    # left open; a test commits what it means to keep
    conn = psycopg.connect(dbname=TEST_DB)
    yield conn
    conn.close()
