"""Alembic's revision graph through the binding (issue 16): branch labels,
depends_on, label targets, unique prefixes, stamp_purge and stamp_sql, each
test asserting what is in the database afterwards."""

import unittest

import retort
from fixture import DatabaseTestCase


def modules(r):
    """core -> accounts; an independent 'billing' module whose second
    revision depends on accounts."""
    r.add_sql("c1core", None, "core", "CREATE TABLE core (id INTEGER)", "DROP TABLE core")
    r.add_sql("c2acct", "c1core", "accounts", "CREATE TABLE acct (id INTEGER)",
              "DROP TABLE acct")
    r.add_sql("b1bill", None, "billing", "CREATE TABLE bill (id INTEGER)", "DROP TABLE bill")
    r.add_sql("b2inv", "b1bill", "invoices", "CREATE TABLE inv (id INTEGER)", "DROP TABLE inv")
    r.set_branch_labels("b1bill", "billing")
    r.set_depends_on("b2inv", ["c2acct"])


class BranchesTest(DatabaseTestCase):

    def test_label_head_upgrade_applies_the_dependency_first(self):
        r = self.open()
        modules(r)
        self.assertEqual(r.heads(), ["b2inv", "c2acct"])
        self.assertEqual(r.plan("billing@head"), ["c1core", "c2acct", "b1bill", "b2inv"])
        r.upgrade("billing@head")
        self.assertEqual(self.db.versions(), ["b1bill", "b2inv", "c1core", "c2acct"])
        self.assertEqual(r.current(), ["b2inv", "c2acct"])

    def test_downgrading_a_dependency_reverts_its_dependent_first(self):
        r = self.open()
        modules(r)
        r.upgrade("heads")
        self.assertEqual(r.plan("c1core", direction=-1), ["b2inv", "c2acct"])
        r.downgrade("c1core")
        self.assertEqual(self.db.versions(), ["b1bill", "c1core"])
        self.assertNotIn("inv", self.db.tables())

    def test_label_base_downgrade_reverts_only_that_branch(self):
        r = self.open()
        modules(r)
        r.upgrade("heads")
        r.downgrade("billing@base")
        self.assertEqual(self.db.versions(), ["c1core", "c2acct"])
        self.assertIn("acct", self.db.tables())

    def test_label_clash_raises_and_changes_nothing(self):
        r = self.open()
        modules(r)
        with self.assertRaises(retort.DuplicateError) as cm:
            r.set_branch_labels("c1core", "core billing")
        self.assertIn("billing", str(cm.exception))
        self.assertEqual(r.links()["c1core"], ((), ()))
        self.assertEqual(r.links()["b2inv"], ((), ("c2acct",)))

    def test_ambiguous_prefix_names_the_candidates(self):
        r = self.open()
        modules(r)
        with self.assertRaises(retort.TargetError) as cm:
            r.upgrade("c")
        self.assertIn("c1core", str(cm.exception))
        self.assertIn("c2acct", str(cm.exception))
        self.assertEqual(self.db.versions(), [])
        r.upgrade("c1")
        self.assertEqual(self.db.versions(), ["c1core"])

    def test_self_dependency_and_cycles_are_refused(self):
        r = self.open()
        modules(r)
        with self.assertRaises(retort.InvalidArgumentError):
            r.set_depends_on("c1core", "c1core")
        r.set_depends_on("c1core", "b2inv")
        with self.assertRaises(retort.GraphError):
            r.heads()

    def test_stamp_purge_and_stamp_sql(self):
        r = self.open()
        modules(r)
        r.stamp("heads")
        r.stamp_purge("c1core")
        self.assertEqual(self.db.versions(), ["c1core"])
        script = r.stamp_sql("c1core:billing@head")
        self.assertIn("b2inv", script)
        self.assertNotIn("CREATE TABLE", script.split("BEGIN")[0].upper().replace(
            "CREATE TABLE IF NOT EXISTS", ""))
        self.assertEqual(self.db.tables() & {"inv", "bill"}, set())


if __name__ == "__main__":
    unittest.main()
