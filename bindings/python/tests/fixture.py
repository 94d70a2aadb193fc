"""The binding tests' database fixture: one fresh, isolated database per
test, and end-state queries made without retort (the sqlite3 module for
SQLite, the psql client for PostgreSQL), so that a test checks what is
really in the database and not what retort says is there.

The backend comes from RETORT_TEST_BACKEND ("sqlite", the default, or
"postgresql").  PostgreSQL needs the libpq environment (PGHOST, ...), as
scripts/with-postgres / pg_virtualenv set it; without it every test of the
run is skipped with the reason.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import retort

BACKEND = os.environ.get("RETORT_TEST_BACKEND", "sqlite")

_pg_reason = None
_pg_checked = False


def client_env(**extra):
    """The environment for psql: ours without LD_PRELOAD, which a sanitizer
    build sets so that python3 can load the instrumented library, and which
    would otherwise reach psql's Perl wrapper too (and hang it)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env.update(extra)
    return env


def postgres_unavailable():
    """Why PostgreSQL tests cannot run here, or None when they can."""
    global _pg_reason, _pg_checked
    if _pg_checked:
        return _pg_reason
    _pg_checked = True
    if os.environ.get("RETORT_TEST_PG_SKIP"):
        _pg_reason = "no PostgreSQL server: " + os.environ["RETORT_TEST_PG_SKIP"]
    elif not os.environ.get("PGHOST"):
        _pg_reason = "no PostgreSQL server: PGHOST is not set (run under scripts/with-postgres)"
    elif not retort.has_backend("postgresql"):
        _pg_reason = "retort was built without the PostgreSQL backend"
    elif shutil.which("psql") is None:
        _pg_reason = "the psql client is not installed"
    else:
        probe = subprocess.run(["psql", "-XAtq", "-c", "SELECT 1"], capture_output=True,
                               text=True, env=client_env(), timeout=60)
        if probe.returncode != 0:
            first = (probe.stderr.strip().splitlines() or ["psql failed"])[0]
            _pg_reason = "no PostgreSQL server: " + first[:300]
    return _pg_reason


def backend_unavailable():
    if BACKEND == "postgresql":
        return postgres_unavailable()
    if BACKEND != "sqlite":
        return "unknown RETORT_TEST_BACKEND %r" % BACKEND
    if not retort.has_backend("sqlite"):
        return "retort was built without the SQLite backend"
    return None


class Database:
    """A fresh database for one test: url for retort, query() and tables()
    to read it directly, execute() to prepare it behind retort's back."""

    _counter = 0

    def __init__(self):
        self.backend = BACKEND
        self.dir = tempfile.mkdtemp(prefix="retort-py-")
        if BACKEND == "postgresql":
            Database._counter += 1
            self.schema = "rt_py_%d_%d" % (os.getpid(), Database._counter)
            self._psql("DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s"
                       % (self.schema, self.schema), search_path=False)
            # The migrations' tables and the version table land in the
            # test's own schema through the connection's search_path.
            self.url = "postgresql:options='-csearch_path=%s'" % self.schema
        else:
            self.schema = None
            self.path = os.path.join(self.dir, "test.db")
            self.url = "sqlite:" + self.path

    def close(self):
        if self.schema:
            self._psql("DROP SCHEMA IF EXISTS %s CASCADE" % self.schema, search_path=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _psql(self, sql, search_path=True):
        env = client_env()
        if search_path and self.schema:
            env["PGOPTIONS"] = "-c search_path=%s" % self.schema
        run = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t",
                              "-P", "null=<NULL>", "-c", sql],
                             capture_output=True, text=True, env=env, timeout=60)
        if run.returncode != 0:
            raise AssertionError("psql failed on %r: %s" % (sql, run.stderr.strip()))
        return run.stdout

    def query(self, sql):
        """Rows as tuples of text (None for NULL), in the query's order."""
        if self.backend == "postgresql":
            rows = []
            for line in self._psql(sql).splitlines():
                rows.append(tuple(None if v == "<NULL>" else v for v in line.split("\t")))
            return rows
        if not os.path.exists(self.path):
            raise AssertionError("the SQLite database %s does not exist" % self.path)
        db = sqlite3.connect(self.path)
        try:
            return [tuple(None if v is None else str(v) for v in row)
                    for row in db.execute(sql).fetchall()]
        finally:
            db.close()

    def execute(self, sql):
        if self.backend == "postgresql":
            self._psql(sql)
            return
        db = sqlite3.connect(self.path)
        try:
            db.executescript(sql)
            db.commit()
        finally:
            db.close()

    def tables(self):
        """The names of the tables in the test's database (or schema)."""
        if self.backend == "postgresql":
            rows = self.query("SELECT tablename FROM pg_catalog.pg_tables "
                              "WHERE schemaname = '%s'" % self.schema)
        else:
            if not os.path.exists(self.path):
                return set()
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def versions(self, table="retort_version"):
        """The recorded revision ids, sorted."""
        if table not in self.tables():
            return []
        return sorted(r[0] for r in self.query("SELECT id FROM %s" % table))


class DatabaseTestCase(unittest.TestCase):
    """A test case with self.db, a fresh database, and self.open(), a
    Retort on it that is closed after the test."""

    @classmethod
    def setUpClass(cls):
        reason = backend_unavailable()
        if reason:
            raise unittest.SkipTest(reason)

    def setUp(self):
        self.db = Database()
        self.addCleanup(self.db.close)

    def open(self, **kwargs):
        r = retort.Retort(self.db.url, **kwargs)
        self.addCleanup(r.close)
        return r

    @property
    def is_postgres(self):
        return self.db.backend == "postgresql"
