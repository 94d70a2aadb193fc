"""Failures through the binding: every one raises retort.Error (the
subclass for its status code) with .code and the library's message, and
leaves the database as the C contract says."""

import unittest

import retort
from fixture import DatabaseTestCase


class CallbackFailureTest(DatabaseTestCase):

    def test_python_exception_fails_the_revision_cleanly(self):
        def bad(conn):
            conn.execute("CREATE TABLE half_done (id INTEGER)")
            raise ValueError("the price list is empty")

        r = self.open()
        r.add_sql("a1", None, "create t", "CREATE TABLE t (id INTEGER)", "DROP TABLE t")
        r.add("a2", "a1", "python step", up=bad)
        with self.assertRaises(retort.MigrationError) as cm:
            r.migrate_to_head()
        err = cm.exception
        self.assertEqual(err.code, retort.EMIGRATION)
        self.assertIn("a2", err.message)
        self.assertIn("ValueError: the price list is empty", err.message)
        self.assertIsInstance(err.__cause__, ValueError)
        # The failing revision left nothing behind; the earlier one stays.
        self.assertNotIn("half_done", self.db.tables())
        self.assertIn("t", self.db.tables())
        self.assertEqual(self.db.versions(), ["a1"])
        self.assertEqual(r.current(), ["a1"])

    def test_failure_is_recorded_in_the_audit_log_with_the_exception_text(self):
        r = self.open()
        r.add("x1", None, None, up=lambda c: 1 / 0)
        with self.assertRaises(retort.MigrationError):
            r.migrate_to_head()
        rows = self.db.query("SELECT revision, outcome, error FROM retort_version_log")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][:2], ("x1", "failed"))
        self.assertIn("ZeroDivisionError", rows[0][2])

    def test_database_error_in_a_callback_carries_the_database_message(self):
        r = self.open()
        r.add("d1", None, None, up=lambda c: c.execute("INSERT INTO no_such_table VALUES (1)"))
        with self.assertRaises(retort.MigrationError) as cm:
            r.migrate_to_head()
        self.assertIn("d1", cm.exception.message)
        self.assertIn("no_such_table", cm.exception.message)
        self.assertIsInstance(cm.exception.__cause__, retort.DatabaseError)
        self.assertEqual(self.db.versions(), [])

    def test_failed_execute_raises_database_error_inside_the_callback(self):
        caught = []

        def up(conn):
            try:
                conn.execute("SELECT * FROM no_such_table")
            except retort.DatabaseError as exc:
                caught.append(exc)
                raise

        r = self.open()
        r.add("d2", None, None, up=up)
        with self.assertRaises(retort.MigrationError):
            r.migrate_to_head()
        self.assertEqual(len(caught), 1)
        self.assertEqual(caught[0].code, retort.EDB)
        self.assertIn("d2", caught[0].message)

    def test_sql_revision_failure_names_revision_and_database_text(self):
        r = self.open()
        r.add_sql("s1", None, None, "CREATE TABLE s1 (id INTEGER)", "DROP TABLE s1")
        r.add_sql("s2", "s1", None, "CREATE TABLE s1 (id INTEGER)", "SELECT 1")
        with self.assertRaises(retort.MigrationError) as cm:
            r.migrate_to_head()
        self.assertIn("s2", cm.exception.message)
        self.assertIn("s1", cm.exception.message)
        self.assertEqual(self.db.versions(), ["s1"])

    def test_keyboard_interrupt_in_a_callback_rolls_back_and_propagates(self):
        def interrupted(conn):
            conn.execute("CREATE TABLE interrupted (id INTEGER)")
            raise KeyboardInterrupt

        r = self.open()
        r.add("i1", None, None, up=interrupted)
        with self.assertRaises(KeyboardInterrupt):
            r.migrate_to_head()
        self.assertNotIn("interrupted", self.db.tables())
        self.assertEqual(self.db.versions(), [])

    def test_failing_down_step_keeps_the_revision_applied(self):
        def bad_down(conn):
            raise RuntimeError("cannot undo")

        r = self.open()
        r.add("b1", None, None, up=lambda c: c.execute("CREATE TABLE b1 (id INTEGER)"),
              down=bad_down)
        r.migrate_to_head()
        with self.assertRaises(retort.MigrationError) as cm:
            r.downgrade("base")
        self.assertIn("RuntimeError: cannot undo", cm.exception.message)
        self.assertEqual(self.db.versions(), ["b1"])
        self.assertIn("b1", self.db.tables())

    def test_calling_the_context_from_a_callback_is_misuse(self):
        r = self.open()
        inner = []

        def reentrant(conn):
            try:
                r.add_sql("late", None, None, "SELECT 1")
            except retort.Error as exc:
                inner.append(exc)

        r.add("re", None, None, up=reentrant)
        r.migrate_to_head()
        self.assertEqual(len(inner), 1)
        self.assertIsInstance(inner[0], retort.MisuseError)


class OperationErrorTest(DatabaseTestCase):

    def test_irreversible_revision_stops_the_downgrade_before_anything_runs(self):
        r = self.open()
        r.add_sql("i1", None, None, "CREATE TABLE i1 (id INTEGER)", "DROP TABLE i1")
        r.add_sql("i2", "i1", None, "CREATE TABLE i2 (id INTEGER)", None)
        r.add_sql("i3", "i2", None, "CREATE TABLE i3 (id INTEGER)", "DROP TABLE i3")
        r.migrate_to_head()
        with self.assertRaises(retort.IrreversibleError) as cm:
            r.downgrade("base")
        self.assertEqual(cm.exception.code, retort.EIRREVERSIBLE)
        self.assertIn("i2", cm.exception.message)
        self.assertEqual(self.db.versions(), ["i1", "i2", "i3"])
        self.assertIn("i3", self.db.tables())

    def test_unknown_target_raises_target_error(self):
        r = self.open()
        r.add_sql("t1", None, None, "CREATE TABLE t1 (id INTEGER)", "DROP TABLE t1")
        with self.assertRaises(retort.TargetError) as cm:
            r.upgrade("nope")
        self.assertIn("nope", cm.exception.message)
        self.assertNotIn("t1", self.db.tables())

    def test_head_with_several_heads_lists_them(self):
        r = self.open()
        r.add_sql("root", None, None, "SELECT 1", "SELECT 1")
        r.add_sql("left", "root", None, "SELECT 1", "SELECT 1")
        r.add_sql("right", "root", None, "SELECT 1", "SELECT 1")
        with self.assertRaises(retort.TargetError) as cm:
            r.migrate_to_head()
        self.assertIn("left", cm.exception.message)
        self.assertIn("right", cm.exception.message)

    def test_unknown_parent_is_a_graph_error_before_the_database_is_touched(self):
        r = self.open()
        r.add_sql("g1", "missing", None, "CREATE TABLE g1 (id INTEGER)", "DROP TABLE g1")
        with self.assertRaises(retort.GraphError) as cm:
            r.migrate_to_head()
        self.assertEqual(cm.exception.code, retort.EGRAPH)
        self.assertIn("missing", cm.exception.message)
        self.assertNotIn("retort_version", self.db.tables())

    def test_unknown_revision_in_the_database_is_reported_by_name(self):
        with retort.Retort(self.db.url) as newer:
            newer.add_sql("u1", None, None, "CREATE TABLE u1 (id INTEGER)", "DROP TABLE u1")
            newer.add_sql("u2", "u1", None, "CREATE TABLE u2 (id INTEGER)", "DROP TABLE u2")
            newer.migrate_to_head()
        r = self.open()
        r.add_sql("u1", None, None, "CREATE TABLE u1 (id INTEGER)", "DROP TABLE u1")
        with self.assertRaises(retort.UnknownRevisionError) as cm:
            r.migrate_to_head()
        self.assertIn("u2", cm.exception.message)
        r.set_tolerate_unknown(True)
        r.migrate_to_head()
        self.assertEqual(self.db.versions(), ["u1", "u2"])

    def test_changed_sql_text_is_a_checksum_error_under_the_error_policy(self):
        with retort.Retort(self.db.url) as first:
            first.add_sql("c1", None, None, "CREATE TABLE c1 (id INTEGER)", "DROP TABLE c1")
            first.migrate_to_head()
        r = self.open(checksum_policy="error")
        r.add_sql("c1", None, None, "CREATE TABLE c1 (id INTEGER, extra TEXT)",
                  "DROP TABLE c1")
        with self.assertRaises(retort.ChecksumError) as cm:
            r.migrate_to_head()
        self.assertIn("c1", cm.exception.message)


class RegistrationErrorTest(DatabaseTestCase):

    def test_duplicate_id_raises_duplicate_error_and_registers_nothing(self):
        r = self.open()
        r.add_sql("d1", None, None, "SELECT 1", "SELECT 1")
        with self.assertRaises(retort.DuplicateError) as cm:
            r.add("d1", None, None, up=lambda c: None)
        self.assertEqual(cm.exception.code, retort.EEXIST)
        self.assertIn("d1", cm.exception.message)
        self.assertEqual(len(r), 1)

    def test_malformed_id_raises_invalid_argument_error(self):
        r = self.open()
        for bad in ["", "has space", "x" * 129, "head", "semi;colon"]:
            with self.subTest(id=bad):
                with self.assertRaises(retort.InvalidArgumentError) as cm:
                    r.add_sql(bad, None, None, "SELECT 1")
                self.assertEqual(cm.exception.code, retort.EINVAL)
                self.assertIsInstance(cm.exception, ValueError)
        self.assertEqual(len(r), 0)

    def test_nul_in_a_string_is_rejected_before_reaching_c(self):
        r = self.open()
        with self.assertRaises(retort.InvalidArgumentError):
            r.add_sql("n1", None, None, "SELECT 1\0; DROP TABLE x")

    def test_up_must_be_callable(self):
        r = self.open()
        with self.assertRaises(TypeError):
            r.add("n1", None, None, up="CREATE TABLE x (id INTEGER)")
        self.assertEqual(len(r), 0)


class ContextErrorTest(unittest.TestCase):

    def test_unknown_scheme_raises_url_error_listing_the_schemes(self):
        with self.assertRaises(retort.URLError) as cm:
            retort.Retort("nosuchdb://somewhere/x")
        err = cm.exception
        self.assertEqual(err.code, retort.EURL)
        self.assertEqual(err.name, "RETORT_EURL")
        self.assertIn("nosuchdb", err.message)
        for scheme in retort.backend_schemes():
            self.assertIn(scheme, err.message)

    def test_password_never_appears_in_an_error(self):
        with self.assertRaises(retort.Error) as cm:
            r = retort.Retort("postgresql://user:hunter2secret@127.0.0.1:1/db",
                              lock_timeout=100)
            try:
                r.migrate_to_head()
            finally:
                r.close()
        self.assertNotIn("hunter2secret", cm.exception.message)

    def test_closed_context_raises_misuse_error(self):
        r = retort.Retort("sqlite::memory:")
        with r:
            pass
        self.assertTrue(r.closed)
        with self.assertRaises(retort.MisuseError):
            r.current()
        r.close()  # idempotent

    def test_every_error_class_derives_from_error(self):
        for code in range(1, 24):
            exc = retort._error(code, "message")
            self.assertIsInstance(exc, retort.Error)
            self.assertEqual((exc.code, exc.message, str(exc)), (code, "message", "message"))
        self.assertIs(type(retort._error(999, "x")), retort.Error)

    def test_strerror_describes_codes(self):
        self.assertTrue(retort.strerror(retort.EMIGRATION))
        self.assertNotEqual(retort.strerror(retort.EMIGRATION), retort.strerror(retort.EDB))


if __name__ == "__main__":
    unittest.main()
