"""The binding itself: it declares every public C function, loads the
library the documented way, and reports the library's version."""

import os
import re
import subprocess
import sys
import unittest

import retort

HERE = os.path.dirname(os.path.abspath(__file__))
# The directory that holds the imported package (bindings/python, or wherever
# it was installed): what a child interpreter needs on its path.
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(retort.__file__)))
INCLUDE = os.environ.get("RETORT_INCLUDE_DIR",
                         os.path.join(HERE, os.pardir, os.pardir, os.pardir, "include",
                                      "retort"))


def public_functions():
    """Names of the RETORT_API functions of the public headers."""
    names = set()
    for header in ("retort.h", "backend.h"):
        with open(os.path.join(INCLUDE, header), encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)  # the macro's own definition
        for decl in re.findall(r"\bRETORT_API\b([^;{]*)", text):
            m = re.search(r"(\w+)\s*\(", decl)
            if m:
                names.add(m.group(1))
    return names


class BindingTest(unittest.TestCase):

    @unittest.skipUnless(os.path.isdir(INCLUDE), "the public headers are not at " + INCLUDE)
    def test_binding_declares_every_public_function(self):
        declared = set(retort._PROTOTYPES) - retort._OPTIONAL
        header = public_functions()
        self.assertGreater(len(header), 40)
        self.assertEqual(sorted(header - declared), [], "declared in the headers, not bound")
        self.assertEqual(sorted(declared - header), [], "bound, not in the headers")

    def test_version_matches_version_number(self):
        parts = [int(p) for p in retort.version().split(".")[:3]]
        self.assertEqual(retort.version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2])

    def test_backend_schemes_lists_the_compiled_in_backends(self):
        schemes = retort.backend_schemes()
        self.assertTrue(schemes)
        for scheme in schemes:
            self.assertTrue(retort.has_backend(scheme))
        self.assertFalse(retort.has_backend("nosuchdb"))

    def test_library_comes_from_retort_library_when_set(self):
        if os.environ.get("RETORT_LIBRARY"):
            self.assertEqual(retort.library_path(), os.environ["RETORT_LIBRARY"])

    def test_a_few_lines_of_python_migrate_a_database_to_head(self):
        # What the binding's documentation promises, in a fresh interpreter.
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            code = (
                "import retort\n"
                "def up(conn): conn.execute('INSERT INTO t VALUES ($1)', [1])\n"
                "def down(conn): conn.execute('DELETE FROM t')\n"
                "with retort.Retort('sqlite:app.db') as r:\n"
                "    r.add_sql('a1', None, 'create t', 'CREATE TABLE t (id INTEGER)',"
                " 'DROP TABLE t')\n"
                "    r.add('a2', 'a1', 'python step', up=up, down=down)\n"
                "    r.migrate_to_head()\n"
                "    print(r.current())\n")
            env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
            run = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env,
                                 capture_output=True, text=True)
            if not retort.has_backend("sqlite"):
                self.skipTest("retort was built without the SQLite backend")
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(run.stdout.strip(), "['a2']")
            import sqlite3
            db = sqlite3.connect(os.path.join(tmp, "app.db"))
            try:
                self.assertEqual(db.execute("SELECT id FROM t").fetchall(), [(1,)])
            finally:
                db.close()

    def test_missing_library_gives_a_clear_error(self):
        code = "import retort\ntry:\n    retort.version()\nexcept OSError as e:\n" \
               "    print(e)\n"
        env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, RETORT_LIBRARY="/nonexistent/libretort.so")
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("RETORT_LIBRARY", run.stdout)


if __name__ == "__main__":
    unittest.main()
