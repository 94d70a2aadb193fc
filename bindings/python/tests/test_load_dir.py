"""SQL-file migrations through the binding (retort_load_dir)."""

import os
import tempfile
import unittest

import retort
from fixture import DatabaseTestCase


def write(directory, name, text):
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        f.write(text)


class LoadDirTest(DatabaseTestCase):

    def setUp(self):
        super().setUp()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def test_load_dirs_reads_several_directories_as_one_registry(self):
        a, b = os.path.join(self.dir, "a"), os.path.join(self.dir, "b")
        os.mkdir(a)
        os.mkdir(b)
        write(a, "001_a.sql", "-- retort:up\nCREATE TABLE a (x INTEGER);\n")
        write(b, "002_b.sql", "-- retort:parents 001_a\n-- retort:up\nCREATE TABLE b (x INTEGER);\n")
        r = self.open()
        r.load_dirs([a, b])
        self.assertEqual([rev.id for rev in r.revisions()], ["001_a", "002_b"])
        write(b, "001_a.sql", "-- retort:up\nCREATE TABLE c (x INTEGER);\n")
        r2 = self.open()
        with self.assertRaises(retort.Error) as cm:
            r2.load_dirs([a, b])
        self.assertEqual(cm.exception.code, retort.EEXIST)
        self.assertIn(os.path.join(b, "001_a.sql"), cm.exception.message)

    def test_load_dir_registers_both_file_formats_and_migrates(self):
        write(self.dir, "001_users.sql",
              "-- retort:message create users\n"
              "-- retort:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n"
              "-- retort:down\nDROP TABLE users;\n")
        write(self.dir, "002_posts.up.sql", "CREATE TABLE posts (id INTEGER);\n")
        write(self.dir, "002_posts.down.sql", "DROP TABLE posts;\n")
        r = self.open()
        r.load_dir(self.dir)
        revs = r.revisions()
        self.assertEqual([rev.id for rev in revs], ["001_users", "002_posts"])
        self.assertEqual(revs[0].message, "create users")
        self.assertEqual(revs[1].parents, ("001_users",))
        r.migrate_to_head()
        self.assertTrue({"users", "posts"} <= self.db.tables())
        self.assertEqual(self.db.versions(), ["001_users", "002_posts"])

    def test_load_dir_mixes_with_python_revisions(self):
        write(self.dir, "001_t.sql",
              "-- retort:up\nCREATE TABLE t (id INTEGER);\n-- retort:down\nDROP TABLE t;\n")
        r = self.open()
        r.load_dir(self.dir)
        r.add("002_fill", "001_t", "fill", up=lambda c: c.execute("INSERT INTO t VALUES (5)"),
              down=lambda c: c.execute("DELETE FROM t"))
        r.migrate_to_head()
        self.assertEqual(self.db.query("SELECT id FROM t"), [("5",)])

    def test_malformed_file_raises_parse_error_naming_it_and_registers_nothing(self):
        write(self.dir, "001_ok.sql", "-- retort:up\nSELECT 1;\n-- retort:down\nSELECT 1;\n")
        write(self.dir, "002_bad.sql", "-- retort:bogus-directive\nSELECT 1;\n")
        r = self.open()
        with self.assertRaises(retort.ParseError) as cm:
            r.load_dir(self.dir)
        self.assertEqual(cm.exception.code, retort.EPARSE)
        self.assertIn("002_bad.sql", cm.exception.message)
        self.assertEqual(len(r), 0)

    def test_goose_directory_and_its_table_are_adopted(self):
        write(self.dir, "00001_t.sql",
              "-- +goose Up\nCREATE TABLE t (id INTEGER);\n-- +goose Down\nDROP TABLE t;\n")
        write(self.dir, "00002_u.sql",
              "-- +goose Up\nCREATE TABLE u (id INTEGER);\n-- +goose Down\nDROP TABLE u;\n")
        self.db.execute("CREATE TABLE goose_db_version (id INTEGER, version_id BIGINT, "
                        "is_applied BOOLEAN); INSERT INTO goose_db_version VALUES "
                        "(1, 0, TRUE), (2, 1, TRUE); CREATE TABLE t (id INTEGER);")
        r = self.open()
        r.load_dir(self.dir)
        r.adopt("goose")
        self.assertEqual(self.db.versions(), ["00001_t"])
        r.migrate_to_head()
        self.assertEqual(self.db.versions(), ["00001_t", "00002_u"])

    def test_directory_without_migrations_raises_not_found_naming_it(self):
        write(self.dir, "README.md", "notes\n")
        r = self.open()
        with self.assertRaises(retort.Error) as cm:
            r.load_dir(self.dir)
        self.assertEqual(cm.exception.code, retort.ENOTFOUND)
        self.assertIn("README.md", cm.exception.message)

    def test_missing_directory_raises_file_error(self):
        r = self.open()
        with self.assertRaises(retort.FileError) as cm:
            r.load_dir(os.path.join(self.dir, "does-not-exist"))
        self.assertEqual(cm.exception.code, retort.EIO)


if __name__ == "__main__":
    unittest.main()
