"""Each test dirties the database -- data, schema, settings -- and each
starts from the template's seed data again, whatever ran before it (run
them in any order: pytest -p no:randomly, --reverse, -k ...)."""
import psycopg
import pytest


def assert_clean(conn):
    """The state every test starts from: the template's, with the
    database's own setting."""
    tables = conn.execute(
        "SELECT string_agg(tablename, ',' ORDER BY tablename)"
        " FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == "customers,orders"
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    columns = conn.execute(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_name = 'orders'").fetchone()[0]
    assert columns == 3
    assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1min"
    assert conn.execute("SHOW work_mem").fetchone()[0] != "7MB"
    assert conn.execute(
        "SELECT count(*) FROM pg_proc WHERE proname = 'discount'").fetchone()[0] == 0
    assert conn.execute(
        "SELECT reloptions FROM pg_class WHERE relname = 'orders'").fetchone()[0] is None


def test_insert_and_delete(db):
    assert_clean(db)
    db.execute("INSERT INTO orders VALUES (2, 2, 25.50), (3, 2, 4.50)")
    db.execute("DELETE FROM orders WHERE id = 1")
    db.commit()
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 2


def test_create_table(db):
    assert_clean(db)
    db.execute("CREATE TABLE audit (at timestamptz DEFAULT now(), what text)")
    db.execute("INSERT INTO audit (what) SELECT 'row ' || g FROM generate_series(1, 1000) g")
    db.commit()


def test_alter_schema_and_settings(db):
    assert_clean(db)
    db.execute("ALTER TABLE orders ADD COLUMN note text")
    db.execute("ALTER TABLE orders SET (fillfactor = 50)")
    db.execute("CREATE FUNCTION discount(numeric) RETURNS numeric"
               " LANGUAGE sql AS 'SELECT $1 * 0.9'")
    db.execute("SET work_mem = '7MB'")
    db.commit()
    assert db.execute("SHOW work_mem").fetchone()[0] == "7MB"
    # not undone by a reset, by design: ALTER DATABASE ... SET and
    # ALTER ROLE ... IN DATABASE ... SET belong to the database's
    # definition, which reset_database() keeps (like its owner and grants)


def test_truncate_everything(db):
    assert_clean(db)
    db.execute("TRUNCATE orders, customers")
    db.commit()


@pytest.mark.parametrize("n", range(3))
def test_several_in_a_row(db, n):
    """Resets one after the other: each swaps in the spare made meanwhile."""
    assert_clean(db)
    db.execute("INSERT INTO customers VALUES (100 + %s, 'round')", (n,))
    db.commit()
    # a transaction left open: the fixture closes the connection without
    # committing it, so the order stays; the committed row above is
    # what the next reset undoes
    db.execute("DELETE FROM orders")


def test_leaked_connection_is_terminated(db):
    """A connection the test forgets to close does not block the next
    reset: reset_database() terminates it."""
    assert_clean(db)
    leaked = psycopg.connect(dbname=db.info.dbname)
    leaked.execute("SELECT count(*) FROM orders")   # idle in transaction
    db.execute("INSERT INTO customers VALUES (3, 'Leaked')")
    # deliberately not closed; the next test's reset ends it
    test_leaked_connection_is_terminated.leaked = leaked


def test_after_the_leak(db):
    assert_clean(db)
    leaked = getattr(test_leaked_connection_is_terminated, "leaked", None)
    if leaked is not None:
        with pytest.raises(psycopg.OperationalError):
            leaked.execute("SELECT 1")
        leaked.close()
