"""Settings, URL resolution and logging through the binding."""

import logging
import os
import tempfile
import unittest

import retort
from fixture import DatabaseTestCase, BACKEND


class SettingsTest(DatabaseTestCase):

    def test_version_table_keyword_names_the_tables(self):
        r = self.open(version_table="schema_history")
        r.add_sql("v1", None, None, "CREATE TABLE v1 (id INTEGER)", "DROP TABLE v1")
        r.migrate_to_head()
        tables = self.db.tables()
        self.assertIn("schema_history", tables)
        self.assertIn("schema_history_log", tables)
        self.assertNotIn("retort_version", tables)
        self.assertEqual(self.db.versions("schema_history"), ["v1"])

    def test_set_by_name_accepts_python_values(self):
        r = self.open()
        r.set("lock_timeout", 1500)
        r.set("tolerate_unknown", True)
        r.set("transaction_mode", "whole-run")
        r.set("transaction_mode", retort.TX_PER_MIGRATION)
        r.set("checksum_policy", retort.CHECKSUM_IGNORE)
        r.set("checksum_policy", "warn")
        r.set("log_level", "debug")
        r.set_lock_timeout(0)
        r.set_transaction_mode(retort.TX_WHOLE_RUN)
        r.set_checksum_policy("error")
        r.set_tolerate_unknown(False)

    def test_bad_setting_raises_invalid_argument_error_naming_it(self):
        r = self.open()
        cases = [("lock_timeout", -5), ("transaction_mode", "sometimes"),
                 ("checksum_policy", "maybe"), ("no_such_setting", "1"),
                 ("version_table", "bad name"), ("log_level", "loud")]
        for name, value in cases:
            with self.subTest(name=name):
                with self.assertRaises(retort.InvalidArgumentError) as cm:
                    r.set(name, value)
                self.assertIn(name, cm.exception.message)

    def test_bad_keyword_setting_fails_the_constructor(self):
        with self.assertRaises(retort.InvalidArgumentError):
            retort.Retort(self.db.url, transaction_mode="sometimes")

    def test_version_table_cannot_change_after_the_first_operation(self):
        r = self.open()
        r.add_sql("v1", None, None, "SELECT 1", "SELECT 1")
        r.migrate_to_head()
        with self.assertRaises(retort.MisuseError):
            r.set_version_table("other_table")

    def test_schema_setting_places_the_version_table(self):
        if not self.is_postgres:
            r = self.open()
            r.set_schema("main")
            with self.assertRaises(retort.InvalidArgumentError):
                r.set_schema("elsewhere")
            return
        other = self.db.schema + "_v"
        self.addCleanup(self.db._psql, "DROP SCHEMA IF EXISTS %s CASCADE" % other, False)
        r = self.open(schema=other)
        r.add_sql("v1", None, None, "CREATE TABLE v1 (id INTEGER)", "DROP TABLE v1")
        r.migrate_to_head()
        rows = self.db.query("SELECT id FROM %s.retort_version" % other)
        self.assertEqual(rows, [("v1",)])
        self.assertIn("v1", self.db.tables())


class LoggingTest(DatabaseTestCase):

    def test_library_messages_go_to_the_retort_logger_at_matching_levels(self):
        r = self.open()
        r.add_sql("l1", None, "log me", "CREATE TABLE l1 (id INTEGER)", "DROP TABLE l1")
        with self.assertLogs("retort", level="INFO") as logs:
            r.migrate_to_head()
        self.assertTrue(any(rec.levelno == logging.INFO and "l1" in rec.getMessage()
                            for rec in logs.records), logs.output)

    def test_library_follows_the_logger_level_when_none_is_set(self):
        r = self.open()
        r.add_sql("l1", None, None, "SELECT 1", "SELECT 1")
        logger = logging.getLogger("retort")
        # At WARNING the info line "applied l1" must not even reach Python.
        seen = []
        handler = logging.Handler()
        handler.emit = seen.append
        logger.addHandler(handler)
        old = logger.level
        logger.setLevel(logging.WARNING)
        try:
            r.migrate_to_head()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old)
        self.assertEqual([rec.getMessage() for rec in seen if "l1" in rec.getMessage()], [])

    def test_explicit_log_level_and_custom_logger(self):
        logger = logging.getLogger("myapp.migrations")
        r = self.open(logger=logger, log_level="debug")
        r.add_sql("l1", None, None, "SELECT 1", "SELECT 1")
        with self.assertLogs(logger, level="DEBUG") as logs:
            r.migrate_to_head()
        self.assertTrue(any(rec.levelno == logging.DEBUG for rec in logs.records), logs.output)

    def test_a_broken_log_handler_does_not_break_the_migration(self):
        logger = logging.getLogger("retort.broken")
        logger.propagate = False
        handler = logging.Handler()

        def explode(record):
            raise RuntimeError("handler exploded")
        handler.emit = explode
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        r = self.open(logger=logger, log_level="debug")
        r.add_sql("l1", None, None, "CREATE TABLE l1 (id INTEGER)", "DROP TABLE l1")
        r.migrate_to_head()
        self.assertEqual(self.db.versions(), ["l1"])


@unittest.skipUnless(BACKEND == "sqlite", "URL resolution is about SQLite files")
class UrlResolutionTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.cwd = os.getcwd()
        os.chdir(self.dir.name)
        self.addCleanup(os.chdir, self.cwd)
        self.saved = os.environ.pop("RETORT_DATABASE_URL", None)
        self.addCleanup(self.restore_env)

    def restore_env(self):
        os.environ.pop("RETORT_DATABASE_URL", None)
        if self.saved is not None:
            os.environ["RETORT_DATABASE_URL"] = self.saved

    def migrate(self, url):
        with retort.Retort(url) as r:
            r.add_sql("a1", None, None, "CREATE TABLE t (id INTEGER)", "DROP TABLE t")
            r.migrate_to_head()

    def test_none_uses_retort_database_url(self):
        os.environ["RETORT_DATABASE_URL"] = "sqlite:from_env.db"
        self.migrate(None)
        self.assertTrue(os.path.exists("from_env.db"))
        self.assertFalse(os.path.exists("retort.db"))

    def test_none_without_environment_uses_retort_db_in_the_working_directory(self):
        self.migrate(None)
        self.assertTrue(os.path.exists("retort.db"))

    def test_sqlalchemy_relative_form(self):
        self.migrate("sqlite:///relative.db")
        self.assertTrue(os.path.exists("relative.db"))

    def test_path_like_objects_are_accepted_where_paths_are(self):
        import pathlib
        with retort.Retort("sqlite::memory:") as r:
            migrations = pathlib.Path(self.dir.name) / "none_here"
            with self.assertRaises(retort.FileError):
                r.load_dir(migrations)


if __name__ == "__main__":
    unittest.main()
