"""Offline SQL through the binding: the plan rendered as a string, Python
callbacks appending to it, and the database never touched."""

import unittest

import retort
from fixture import DatabaseTestCase


def seed(conn):
    conn.execute("INSERT INTO t (id, name) VALUES ($1, $2)", [1, "o'brien"])


def unseed(conn):
    conn.execute("DELETE FROM t")


class OfflineTest(DatabaseTestCase):

    def register(self, r):
        r.add_sql("o1", None, "create t", "CREATE TABLE t (id INTEGER, name TEXT)",
                  "DROP TABLE t")
        r.add("o2", "o1", "seed", up=seed, down=unseed)

    def test_upgrade_sql_renders_sql_and_python_steps_without_touching_the_database(self):
        seen = []
        r = self.open()
        self.register(r)
        r.add("o3", "o2", "probe", up=lambda c: seen.append((c.offline, c.backend)))
        script = r.upgrade_sql("head")
        self.assertIsInstance(script, str)
        self.assertIn("CREATE TABLE t (id INTEGER, name TEXT)", script)
        self.assertIn("INSERT INTO t (id, name) VALUES ('1', 'o''brien')", script)
        self.assertIn("retort_version", script)
        self.assertLess(script.index("o1"), script.index("o2"))
        self.assertEqual(seen, [(True, self.db.backend)])
        self.assertEqual(self.db.tables(), set())

    def test_downgrade_sql_renders_the_down_steps_in_reverse(self):
        r = self.open()
        self.register(r)
        script = r.downgrade_sql("o2:base")
        self.assertIn("DELETE FROM t", script)
        self.assertIn("DROP TABLE t", script)
        self.assertLess(script.index("DELETE FROM t"), script.index("DROP TABLE t"))
        self.assertEqual(self.db.tables(), set())

    def test_upgrade_sql_from_a_revision(self):
        r = self.open()
        self.register(r)
        script = r.upgrade_sql("o1:o2")
        self.assertNotIn("CREATE TABLE t", script)
        self.assertIn("INSERT INTO t", script)

    def test_callback_needing_the_live_connection_raises_offline_error(self):
        def needs_live(conn):
            if conn.native is None:
                raise RuntimeError("this step reads the live database")

        r = self.open()
        r.add("live", None, "needs live", up=needs_live)
        with self.assertRaises(retort.OfflineError) as cm:
            r.upgrade_sql("head")
        self.assertEqual(cm.exception.code, retort.EOFFLINE)
        self.assertIn("live", cm.exception.message)

    def test_python_exception_while_rendering_fails_with_its_text(self):
        def broken(conn):
            raise LookupError("no template for this dialect")

        r = self.open()
        r.add("b1", None, None, up=broken)
        with self.assertRaises(retort.Error) as cm:
            r.upgrade_sql("head")
        self.assertIn("no template for this dialect", cm.exception.message)
        self.assertIsInstance(cm.exception.__cause__, LookupError)


if __name__ == "__main__":
    unittest.main()
