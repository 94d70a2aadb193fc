"""Runs the backend-plugin example and checks what it claims, independently:
the statements really went through the trace driver, and the database
really is at head (read with the sqlite3 module, not through retort).

    python3 check_plugin.py PLUGIN_EXECUTABLE MIGRATIONS_DIR

Exit status: 0 pass, 1 fail, 77 skip (the library has no SQLite driver).
"""

import os
import sqlite3
import subprocess
import sys
import tempfile

EXPECTED_IDS = ["0001_posts", "0002_tags", "0003_posts_title_idx", "0004_seed_tags"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    exe, migrations = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="retort-plugin-") as tmp:
        db_path = os.path.join(tmp, "plugin.db")
        trace_path = os.path.join(tmp, "trace.log")
        run = subprocess.run([exe, db_path, migrations, trace_path], capture_output=True,
                             text=True)
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        if run.returncode == 77:
            return 77
        if run.returncode != 0:
            fail("backend-plugin exited with status %d" % run.returncode)

        with open(trace_path, encoding="utf-8") as f:
            events = [line.rstrip("\n").split("\t", 1) for line in f]
        statements = [text for event, text in events
                      if event in ("exec", "exec_params", "query", "table_exists")]
        kinds = {event for event, _ in events}

        # The migrations' own SQL went through the driver...
        for needle in ["CREATE TABLE posts", "CREATE TABLE tags", "CREATE TABLE post_tags",
                       "INSERT INTO tags (name) VALUES ($1)", "CREATE INDEX posts_title_idx"]:
            if not any(needle in s for s in statements):
                fail("no traced statement contains %r" % needle)
        # ...and so did retort's own bookkeeping, inside transactions.
        if not any("retort_version" in s for s in statements):
            fail("the version-table statements were not traced")
        for kind in ("connect", "begin", "commit", "disconnect"):
            if kind not in kinds:
                fail("no %r event was traced" % kind)
        if sum(1 for event, _ in events if event == "connect") != 2:
            fail("expected one connection per run")

        lines = run.stdout.splitlines()
        if not any(line.startswith("schemes:") and "trace" in line.split() for line in lines):
            fail("the trace scheme was not listed by retort_backend_schemes")
        runs = [line for line in lines if " run: database is at " in line]
        if len(runs) != 2 or not all("at 0004_seed_tags;" in line for line in runs):
            fail("both runs should report head 0004_seed_tags: %r" % runs)
        # "Already at head must cost about one query" (the design brief),
        # seen from the driver's side.
        noop = int(runs[1].split(" sent ")[1].split()[0])
        if not 1 <= noop <= 2:
            fail("the already-at-head run sent %d statements, expected about one" % noop)

        # The end state, read directly.
        db = sqlite3.connect(db_path)
        try:
            ids = sorted(r[0] for r in db.execute("SELECT id FROM retort_version"))
            tags = sorted(r[0] for r in db.execute("SELECT name FROM tags"))
            index = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                               "name = 'posts_title_idx'").fetchall()
        finally:
            db.close()
        if ids != EXPECTED_IDS:
            fail("retort_version holds %r, expected %r" % (ids, EXPECTED_IDS))
        if tags != ["howto", "news", "release"]:
            fail("the C callback's rows are missing: tags = %r" % tags)
        if not index:
            fail("posts_title_idx does not exist")
    print("PASS: %d statements traced; database at head" % len(statements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
