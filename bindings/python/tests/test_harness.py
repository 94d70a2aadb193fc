"""The test-harness functions through the binding: Retort.fresh(), the
schema snapshot and the ready-made checks."""

import unittest

import retort
from fixture import DatabaseTestCase, BACKEND

HARNESS = ("retort_new_fresh", "retort_schema_snapshot", "retort_test_single_head",
           "retort_test_upgrade", "retort_test_stairway", "retort_test_downgrade")


def harness_missing():
    missing = [name for name in HARNESS if not retort.has_function(name)]
    return "the library does not export " + ", ".join(missing) if missing else None


class HarnessTest(DatabaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = harness_missing()
        if reason:
            raise unittest.SkipTest(reason)

    def require_snapshot(self):
        # A backend may not describe schemas: retort_schema_snapshot says so
        # with RETORT_EINVAL, and the checks that compare snapshots cannot
        # run there.  That is a property of the build, not a failure.
        with retort.Retort(self.db.url) as probe:
            try:
                probe.schema_snapshot()
            except retort.InvalidArgumentError as exc:
                self.skipTest("the %s backend cannot snapshot a schema: %s"
                              % (BACKEND, exc.message))

    def fresh(self):
        url = self.db.url if BACKEND == "postgresql" else None
        r = retort.Retort.fresh(url)
        self.addCleanup(r.close)
        return r

    def register(self, r, broken_down=False):
        r.add_sql("h1", None, None, "CREATE TABLE h1 (id INTEGER PRIMARY KEY, name TEXT)",
                  "DROP TABLE h1")
        r.add("h2", "h1", None, up=lambda c: c.execute("CREATE INDEX h1_name ON h1 (name)"),
              down=(lambda c: None) if broken_down else
              (lambda c: c.execute("DROP INDEX h1_name")))

    def test_fresh_context_migrates_and_checks_pass(self):
        self.require_snapshot()
        r = self.fresh()
        self.register(r)
        r.test_single_head()
        r.test_upgrade()
        r.test_stairway()
        r.test_downgrade()
        self.assertEqual(r.current(), [])

    def test_stairway_names_a_down_step_that_leaves_something_behind(self):
        self.require_snapshot()
        r = self.fresh()
        self.register(r, broken_down=True)
        with self.assertRaises(retort.CheckFailedError) as cm:
            r.test_stairway()
        self.assertEqual(cm.exception.code, retort.ECHECKFAIL)
        self.assertIn("h2", cm.exception.message)

    def test_stairway_partial_stops_at_an_irreversible_revision(self):
        self.require_snapshot()
        r = self.fresh()
        self.register(r)
        r.add_sql("h3", "h2", None, "CREATE TABLE h3 (id INTEGER)", None)
        with self.assertRaises(retort.CheckFailedError):
            r.test_stairway()
        self.assertEqual(r.test_stairway_partial(), "h3")
        self.assertEqual(r.current(), [])

    def test_fresh_contexts_are_isolated_from_each_other(self):
        first = self.fresh()
        self.register(first)
        first.migrate_to_head()
        self.assertEqual(first.current(), ["h2"])
        second = self.fresh()
        self.register(second)
        self.assertEqual(second.current(), [])
        second.migrate_to_head()  # would fail if h1 already existed there
        self.assertEqual(second.current(), ["h2"])

    def test_single_head_fails_with_two_heads(self):
        r = self.fresh()
        r.add_sql("root", None, None, "SELECT 1", "SELECT 1")
        r.add_sql("left", "root", None, "SELECT 1", "SELECT 1")
        r.add_sql("right", "root", None, "SELECT 1", "SELECT 1")
        with self.assertRaises(retort.CheckFailedError):
            r.test_single_head()

    def test_schema_snapshot_describes_the_migrated_schema(self):
        self.require_snapshot()
        r = self.open()
        self.register(r)
        empty = r.schema_snapshot()
        r.migrate_to_head()
        snapshot = r.schema_snapshot()
        self.assertIsInstance(snapshot, str)
        self.assertIn("h1", snapshot)
        self.assertNotIn("retort_version", snapshot)
        r.downgrade("base")
        self.assertEqual(r.schema_snapshot(), empty)

    def test_fresh_url_opens_the_migrated_target_and_templates_are_cloned(self):
        if not retort.has_function("retort_fresh_url"):
            self.skipTest("the library does not export retort_fresh_url")
        import os
        import time
        key = "py-%d-%d" % (os.getpid(), time.monotonic_ns())
        runs = []

        def up(c):
            runs.append(1)
            c.execute("CREATE TABLE counted (id INTEGER)")

        def make():
            url = self.db.url if BACKEND == "postgresql" else None
            r = retort.Retort.fresh(url, template_key=key)
            self.addCleanup(r.close)
            r.add_sql("h1", None, None, "CREATE TABLE h1 (id INTEGER PRIMARY KEY)",
                      "DROP TABLE h1")
            r.add("h2", "h1", None, up=up, down=lambda c: c.execute("DROP TABLE counted"))
            r.migrate_to_head()
            return r

        first = make()
        self.assertEqual(len(runs), 1)  # the template's build
        second = make()
        self.assertEqual(len(runs), 1)  # a clone: nothing ran
        with retort.Retort(second.fresh_url()) as other:
            self.assertEqual(other.current(), ["h2"])
        self.assertNotEqual(first.fresh_url(), second.fresh_url())

    def test_fresh_url_of_a_plain_context_is_a_misuse(self):
        if not retort.has_function("retort_fresh_url"):
            self.skipTest("the library does not export retort_fresh_url")
        with self.assertRaises(retort.Error) as cm:
            self.open().fresh_url()
        self.assertEqual(cm.exception.code, retort.EMISUSE)


if __name__ == "__main__":
    unittest.main()
