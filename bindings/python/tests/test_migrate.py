"""Operations through the binding: upgrade, downgrade, stamp, check, plan,
current, and Python callbacks doing real work, each test asserting what is
in the database afterwards."""

import gc
import logging
import threading
import unittest

import retort
from fixture import DatabaseTestCase


def create_items(conn):
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")


def drop_items(conn):
    conn.execute("DROP TABLE items")


def seed_items(conn):
    for i, name in enumerate(["apple", "pear", "plum"], 1):
        conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [i, name])


def unseed_items(conn):
    conn.execute("DELETE FROM items")


def linear(r):
    """a1 (SQL) -> a2 (Python) -> a3 (SQL)."""
    r.add_sql("a1", None, "create t", "CREATE TABLE t (id INTEGER)", "DROP TABLE t")
    r.add("a2", "a1", "items", up=create_items, down=drop_items)
    r.add_sql("a3", "a2", "create u", "CREATE TABLE u (id INTEGER)", "DROP TABLE u")


class MigrateTest(DatabaseTestCase):

    def test_event_handler_sees_each_step_this_process_runs(self):
        r = self.open()
        linear(r)
        events = []
        r.set_event_handler(lambda e: events.append(
            (e.phase, e.direction, e.index, e.total, e.id, e.status)))
        r.migrate_to_head()
        B, A = retort.EVENT_BEFORE, retort.EVENT_AFTER
        self.assertEqual(events, [
            (B, 1, 1, 3, "a1", retort.OK), (A, 1, 1, 3, "a1", retort.OK),
            (B, 1, 2, 3, "a2", retort.OK), (A, 1, 2, 3, "a2", retort.OK),
            (B, 1, 3, 3, "a3", retort.OK), (A, 1, 3, 3, "a3", retort.OK)])
        del events[:]
        r.migrate_to_head()  # at head: nothing ran, nothing reported
        self.assertEqual(events, [])
        r.downgrade("a2")
        self.assertEqual(events, [(B, -1, 1, 1, "a3", retort.OK),
                                  (A, -1, 1, 1, "a3", retort.OK)])

    def test_versions_audit_log_and_repair_read_and_fix_the_recorded_state(self):
        r = self.open()
        linear(r)
        r.migrate_to_head()
        rows = r.versions()
        self.assertEqual([(x["id"], x["state"], x["checksum"], x["unknown"]) for x in rows],
                         [("a1", "applied", "ok", False), ("a2", "applied", None, False),
                          ("a3", "applied", "ok", False)])
        self.assertEqual(rows[1]["parents"], ["a1"])
        self.assertTrue(rows[0]["applied_at"].endswith("Z"))
        log = r.audit_log()
        self.assertEqual([(e["revision"], e["direction"], e["outcome"], e["error"])
                          for e in log],
                         [("a1", "up", "ok", None), ("a2", "up", "ok", None),
                          ("a3", "up", "ok", None)])
        # a3's text edited on purpose: a new context sees it, repair records it
        r2 = self.open()
        r2.add_sql("a1", None, "create t", "CREATE TABLE t (id INTEGER)", "DROP TABLE t")
        r2.add("a2", "a1", "items", up=create_items, down=drop_items)
        r2.add_sql("a3", "a2", "create u", "CREATE TABLE u (id INTEGER) -- ok", "DROP TABLE u")
        self.assertEqual(r2.versions()[2]["checksum"], "edited")
        r2.repair("a3")
        self.assertEqual(r2.versions()[2]["checksum"], "ok")
        self.assertEqual(r2.audit_log()[-1]["direction"], "repair")
        r2.check()

    def test_event_handler_reports_a_failed_step_with_its_error(self):
        r = self.open()
        r.add_sql("b1", None, "ok", "CREATE TABLE b1 (x INTEGER)", "DROP TABLE b1")
        r.add_sql("b2", "b1", "broken", "CREATE TABLE nope (", None)
        seen = []
        r.set_event_handler(seen.append)
        with self.assertRaises(retort.MigrationError):
            r.migrate_to_head()
        self.assertEqual([(e.phase, e.id, e.status) for e in seen],
                         [(retort.EVENT_BEFORE, "b1", retort.OK),
                          (retort.EVENT_AFTER, "b1", retort.OK),
                          (retort.EVENT_BEFORE, "b2", retort.OK),
                          (retort.EVENT_AFTER, "b2", retort.EMIGRATION)])
        self.assertIn("b2", seen[-1].error)
        self.assertEqual(self.db.versions(), ["b1"])

    def test_migrate_to_head_applies_sql_and_python_revisions(self):
        r = self.open()
        linear(r)
        r.add("a4", "a3", "seed", up=seed_items, down=unseed_items)
        r.migrate_to_head()
        self.assertTrue({"t", "u", "items"} <= self.db.tables())
        self.assertEqual(self.db.query("SELECT id, name FROM items ORDER BY id"),
                         [("1", "apple"), ("2", "pear"), ("3", "plum")])
        self.assertEqual(self.db.versions(), ["a1", "a2", "a3", "a4"])
        self.assertEqual(r.current(), ["a4"])

    def test_migrate_to_head_twice_runs_each_revision_once(self):
        calls = []

        def up(conn):
            calls.append(conn.revision)
            conn.execute("CREATE TABLE once (id INTEGER)")

        r = self.open()
        r.add("only", None, "once", up=up)
        r.migrate_to_head()
        r.migrate_to_head()
        with retort.Retort(self.db.url) as again:
            again.add("only", None, "once", up=up)
            again.migrate_to_head()
        self.assertEqual(calls, ["only"])
        self.assertIn("once", self.db.tables())

    def test_current_is_empty_list_at_base(self):
        r = self.open()
        linear(r)
        self.assertEqual(r.current(), [])

    def test_current_lists_every_applied_head_sorted(self):
        r = self.open()
        r.add_sql("root", None, "root", "CREATE TABLE root (id INTEGER)", "DROP TABLE root")
        r.add_sql("zeta", "root", "branch z", "CREATE TABLE z (id INTEGER)", "DROP TABLE z")
        r.add_sql("alpha", "root", "branch a", "CREATE TABLE a (id INTEGER)", "DROP TABLE a")
        r.upgrade("heads")
        self.assertEqual(r.current(), ["alpha", "zeta"])
        self.assertEqual(r.heads(), ["alpha", "zeta"])
        self.assertTrue({"root", "z", "a"} <= self.db.tables())

    def test_merge_revision_takes_a_list_of_parents(self):
        r = self.open()
        r.add_sql("root", None, None, "CREATE TABLE root (id INTEGER)", "DROP TABLE root")
        r.add_sql("b1", "root", None, "CREATE TABLE b1 (id INTEGER)", "DROP TABLE b1")
        r.add_sql("b2", "root", None, "CREATE TABLE b2 (id INTEGER)", "DROP TABLE b2")
        r.add_sql("merge", ["b1", "b2"], "merge", "CREATE TABLE m (id INTEGER)",
                  "DROP TABLE m")
        r.migrate_to_head()
        self.assertEqual(r.current(), ["merge"])
        self.assertEqual(self.db.versions(), ["b1", "b2", "merge", "root"])
        merge = [rev for rev in r.revisions() if rev.id == "merge"][0]
        self.assertEqual(merge.parents, ("b1", "b2"))

    def test_upgrade_to_an_id_stops_there(self):
        r = self.open()
        linear(r)
        r.upgrade("a2")
        self.assertEqual(r.current(), ["a2"])
        self.assertIn("items", self.db.tables())
        self.assertNotIn("u", self.db.tables())

    def test_relative_targets_step_forward_and_back(self):
        r = self.open()
        linear(r)
        r.upgrade("+2")
        self.assertEqual(self.db.versions(), ["a1", "a2"])
        r.upgrade("+1")
        self.assertEqual(self.db.versions(), ["a1", "a2", "a3"])
        r.downgrade("-2")
        self.assertEqual(self.db.versions(), ["a1"])
        self.assertNotIn("items", self.db.tables())

    def test_downgrade_to_base_runs_python_down_steps(self):
        r = self.open()
        linear(r)
        r.migrate_to_head()
        r.downgrade("base")
        self.assertEqual(r.current(), [])
        self.assertEqual(self.db.versions(), [])
        self.assertFalse({"t", "u", "items"} & self.db.tables())

    def test_downgrade_to_an_id_leaves_it_applied(self):
        r = self.open()
        linear(r)
        r.migrate_to_head()
        r.downgrade("a1")
        self.assertEqual(r.current(), ["a1"])
        self.assertEqual(self.db.versions(), ["a1"])
        self.assertIn("t", self.db.tables())

    def test_callbacks_survive_garbage_collection(self):
        r = self.open()
        # Lambdas with no other reference: only the context keeps them.
        r.add("g1", None, None, up=lambda c: c.execute("CREATE TABLE g (id INTEGER)"),
              down=lambda c: c.execute("DROP TABLE g"))
        gc.collect()
        r.migrate_to_head()
        gc.collect()
        r.downgrade("base")
        self.assertNotIn("g", self.db.tables())

    def test_execute_binds_parameters_as_values_never_as_sql(self):
        hostile = "x'); DROP TABLE p; --"

        def up(conn):
            conn.execute("CREATE TABLE p (a TEXT, b TEXT, c INTEGER, d TEXT)")
            conn.execute("INSERT INTO p (a, b, c, d) VALUES ($1, $2, $3, $4)",
                         [hostile, None, 7, "caf\u00e9"])

        r = self.open()
        r.add("p1", None, None, up=up)
        r.migrate_to_head()
        self.assertEqual(self.db.query("SELECT a, b, c, d FROM p"),
                         [(hostile, None, "7", "caf\u00e9")])

    def test_execute_runs_several_statements(self):
        r = self.open()
        r.add("multi", None, None,
              up=lambda c: c.execute("CREATE TABLE m1 (id INTEGER); CREATE TABLE m2 (id INTEGER)"))
        r.migrate_to_head()
        self.assertTrue({"m1", "m2"} <= self.db.tables())

    def test_conn_describes_the_live_connection(self):
        seen = {}

        def up(conn):
            seen.update(backend=conn.backend, offline=conn.offline, native=conn.native,
                        revision=conn.revision, direction=conn.direction)

        r = self.open()
        r.add("c1", None, None, up=up)
        r.migrate_to_head()
        self.assertEqual(seen["backend"], self.db.backend)
        self.assertFalse(seen["offline"])
        self.assertIsNotNone(seen["native"])
        self.assertEqual((seen["revision"], seen["direction"]), ("c1", "up"))

    def test_conn_cannot_be_used_after_its_callback(self):
        kept = []
        r = self.open()
        r.add("k1", None, None, up=kept.append)
        r.migrate_to_head()
        with self.assertRaises(retort.MisuseError):
            kept[0].execute("SELECT 1")

    def test_close_from_inside_a_callback_raises_and_keeps_the_context(self):
        r = self.open()
        raised = []

        def closing(conn):
            conn.execute("CREATE TABLE closing (x INTEGER)")
            try:
                r.close()
            except retort.MisuseError as exc:
                raised.append(exc)
                raise

        r.add("z1", None, None, up=closing)
        with self.assertRaises(retort.MigrationError) as cm:
            r.migrate_to_head()
        self.assertEqual(len(raised), 1)
        self.assertIn("close()", str(raised[0]))
        self.assertIs(cm.exception.__cause__, raised[0])
        self.assertFalse(r.closed)
        self.assertNotIn("closing", self.db.tables())
        self.assertEqual(self.db.versions(), [])
        r.close()
        self.assertTrue(r.closed)

    def test_close_from_inside_the_log_handler_raises_there_and_closes_nothing(self):
        raised = []
        holder = []

        class Closer(logging.Handler):
            def emit(self, record):
                try:
                    holder[0].close()
                except retort.MisuseError as exc:
                    raised.append(exc)

        logger = logging.getLogger("retort.test.closer")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        handler = Closer()
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        r = self.open(logger=logger)
        holder.append(r)
        r.add_sql("y1", None, None, "CREATE TABLE y1 (x INTEGER)", None)
        r.migrate_to_head()
        self.assertTrue(raised)
        self.assertFalse(r.closed)
        self.assertEqual(self.db.versions(), ["y1"])

    def test_stamp_records_state_without_running_anything(self):
        r = self.open()
        linear(r)
        r.stamp("a2")
        self.assertEqual(r.current(), ["a2"])
        self.assertEqual(self.db.versions(), ["a1", "a2"])
        self.assertFalse({"t", "items"} & self.db.tables())
        r.stamp("base")
        self.assertEqual(self.db.versions(), [])

    def test_check_reports_pending_revisions_then_passes_at_head(self):
        r = self.open()
        linear(r)
        with self.assertRaises(retort.PendingError) as cm:
            r.check()
        self.assertEqual(cm.exception.code, retort.EPENDING)
        r.migrate_to_head()
        r.check()

    def test_plan_lists_what_would_run_without_running_it(self):
        r = self.open()
        linear(r)
        self.assertEqual(r.plan("head"), ["a1", "a2", "a3"])
        r.upgrade("a2")
        self.assertEqual(r.plan("head"), ["a3"])
        self.assertEqual(r.plan("base", -1), ["a2", "a1"])
        self.assertEqual(self.db.versions(), ["a1", "a2"])

    def test_applied_lists_revisions_in_the_order_applied(self):
        r = self.open()
        r.add_sql("z", None, None, "CREATE TABLE z (id INTEGER)", "DROP TABLE z")
        r.add_sql("a", "z", None, "CREATE TABLE a (id INTEGER)", "DROP TABLE a")
        r.migrate_to_head()
        self.assertEqual(r.applied(), ["z", "a"])

    def test_revisions_report_ids_parents_messages_and_flags(self):
        r = self.open()
        r.add_sql("s1", None, "sql one", "CREATE TABLE s1 (id INTEGER)", None)
        r.add("p2", "s1", "python two", up=create_items, down=drop_items, transactional=False)
        self.assertEqual(len(r), 2)
        s1, p2 = r.revisions()
        self.assertEqual((s1.id, s1.parents, s1.message), ("s1", (), "sql one"))
        self.assertTrue(s1.sql and s1.irreversible and s1.transactional)
        self.assertEqual((p2.id, p2.parents, p2.message), ("p2", ("s1",), "python two"))
        self.assertFalse(p2.sql or p2.irreversible or p2.transactional)
        r.upgrade("s1")
        r.applied()
        flags = {rev.id: rev.applied for rev in r.revisions()}
        self.assertEqual(flags, {"s1": True, "p2": False})

    def test_non_transactional_failure_leaves_dirty_state_until_resolved(self):
        def half(conn):
            conn.execute("CREATE TABLE half (id INTEGER)")
            raise RuntimeError("stopped midway")

        r = self.open()
        r.add_sql("n0", None, None, "CREATE TABLE n0 (id INTEGER)", "DROP TABLE n0")
        r.add("n1", "n0", "non-tx", up=half, down=lambda c: None, transactional=False)
        with self.assertRaises(retort.MigrationError):
            r.migrate_to_head()
        self.assertIn("half", self.db.tables())  # no transaction to roll it back
        with self.assertRaises(retort.DirtyError):
            r.migrate_to_head()
        self.assertEqual(r.applied(), ["n0", "n1"])  # also refreshes the flags
        self.assertTrue([rev for rev in r.revisions() if rev.id == "n1"][0].dirty)
        with self.assertLogs("retort", "WARNING") as logs:
            r.mark_applied("n1")
        self.assertIn("n1", logs.output[0])
        self.assertEqual(r.current(), ["n1"])
        r.check()
        self.assertEqual(self.db.query("SELECT state FROM retort_version WHERE id = 'n1'"),
                         [("applied",)])

    def test_mark_reverted_removes_the_row(self):
        r = self.open()
        linear(r)
        r.migrate_to_head()
        with self.assertLogs("retort", "WARNING") as logs:
            r.mark_reverted("a3")
        self.assertTrue(any("a3" in line for line in logs.output), logs.output)
        self.assertEqual(self.db.versions(), ["a1", "a2"])
        self.assertIn("u", self.db.tables())  # nothing ran

    def test_python_revision_without_down_is_irreversible(self):
        r = self.open()
        r.add("once", None, None, up=lambda c: c.execute("CREATE TABLE once (id INTEGER)"))
        r.migrate_to_head()
        self.assertTrue(r.revisions()[0].irreversible)
        with self.assertRaises(retort.IrreversibleError):
            r.downgrade("base")
        self.assertIn("once", self.db.tables())
        self.assertEqual(self.db.versions(), ["once"])

    def test_threads_with_their_own_contexts_apply_each_revision_once(self):
        # One context per thread, as the C API asks; ctypes releases the GIL
        # during each call, so the four really run at once.
        runs = []
        lock = threading.Lock()
        errors = []

        def body(name):
            def up(conn):
                with lock:
                    runs.append(name)
                conn.execute("CREATE TABLE %s (id INTEGER)" % name)
            return up

        def worker():
            try:
                with retort.Retort(self.db.url, lock_timeout=60000) as r:
                    for i in range(5):
                        r.add("t%d" % i, "t%d" % (i - 1) if i else None, None,
                              up=body("t%d" % i))
                    r.migrate_to_head()
            except Exception as exc:  # reported below, in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(runs), ["t0", "t1", "t2", "t3", "t4"])
        self.assertEqual(self.db.versions(), ["t0", "t1", "t2", "t3", "t4"])

    def test_whole_run_mode_rolls_back_the_whole_plan(self):
        # DDL is transactional on SQLite and PostgreSQL alike.
        r = self.open(transaction_mode="whole-run")
        r.add_sql("w1", None, None, "CREATE TABLE w1 (id INTEGER)", "DROP TABLE w1")
        r.add("w2", "w1", None, up=lambda c: c.execute("INSERT INTO nowhere VALUES (1)"))
        with self.assertRaises(retort.MigrationError):
            r.migrate_to_head()
        self.assertNotIn("w1", self.db.tables())
        self.assertEqual(self.db.versions(), [])


if __name__ == "__main__":
    unittest.main()
