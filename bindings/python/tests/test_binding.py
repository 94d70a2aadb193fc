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


def header_constants():
    """NAME -> value of retort.h's enum constants and RETORT_EVENT_* macros."""
    with open(os.path.join(INCLUDE, "retort.h"), encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    consts = {}
    for name, value in re.findall(r"^\s*(RETORT_\w+)\s*=\s*(-?\d+)", text, flags=re.M):
        consts[name] = int(value)
    for name, value in re.findall(r"^\s*#define\s+(RETORT_EVENT_\w+)\s+(-?\d+)\s*$", text,
                                  flags=re.M):
        consts[name] = int(value)
    return consts


def source_file(*parts):
    """A file of the source tree around bindings/python/tests, or None when
    the tests run from elsewhere (an installed copy)."""
    path = os.path.join(HERE, os.pardir, *parts)
    return path if os.path.isfile(path) else None


class BindingTest(unittest.TestCase):

    @unittest.skipUnless(os.path.isdir(INCLUDE), "the public headers are not at " + INCLUDE)
    def test_every_constant_of_the_header_has_its_value(self):
        consts = header_constants()
        self.assertIn("RETORT_EDRIFT", consts)
        self.assertIn("RETORT_LOG_DEBUG", consts)
        self.assertIn("RETORT_EVENT_AFTER", consts)
        wrong = ["%s = %d, retort.%s = %r" % (name, value, name[len("RETORT_"):],
                                               getattr(retort, name[len("RETORT_"):], None))
                 for name, value in sorted(consts.items())
                 if getattr(retort, name[len("RETORT_"):], None) != value]
        self.assertEqual(wrong, [], "constants the binding lacks or misstates")
        # Every status code has its C name and its exception class.
        for name, value in consts.items():
            if name.startswith("RETORT_E") and not name.startswith("RETORT_EVENT_"):
                self.assertEqual(retort._CODE_NAMES.get(value), name)
                if name != "RETORT_ERROR" and value != retort.EDRIFT:
                    self.assertIn(value, retort._ERROR_CLASSES, name)

    def test_package_version_is_the_library_version(self):
        self.assertEqual(retort.__version__, retort.version(),
                         "retort.__version__ against retort_version() of %s"
                         % retort.library_path())

    def test_pyproject_and_meson_declare_the_package_version(self):
        pyproject = source_file("pyproject.toml")
        meson = source_file(os.pardir, os.pardir, "meson.build")
        if pyproject is None or meson is None:
            self.skipTest("not run from the retort source tree")
        with open(pyproject, encoding="utf-8") as f:
            py_version = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), flags=re.M)
        with open(meson, encoding="utf-8") as f:
            meson_version = re.search(r"\bproject\((?:[^)]*?)\bversion\s*:\s*'([^']+)'",
                                      f.read(), flags=re.S)
        self.assertIsNotNone(py_version, "no version in " + pyproject)
        self.assertIsNotNone(meson_version, "no project version in " + meson)
        self.assertEqual(py_version.group(1), meson_version.group(1))
        self.assertEqual(retort.__version__, meson_version.group(1))

    def test_package_is_typed(self):
        package = os.path.dirname(os.path.abspath(retort.__file__))
        self.assertTrue(os.path.isfile(os.path.join(package, "py.typed")))
        hints = retort.Retort.add_sql.__annotations__
        self.assertEqual(hints.get("return"), "None")
        self.assertEqual(retort.Retort.revisions.__annotations__.get("return"),
                         "List[Revision]")

    def test_revision_repr_names_its_flags(self):
        rev = retort.Revision("a1", ("a0",), "create t",
                              retort.REV_SQL | retort.REV_APPLIED)
        self.assertEqual(repr(rev),
                         "Revision('a1', parents=('a0',), message='create t', "
                         "flags=REV_SQL|REV_APPLIED)")
        self.assertEqual(repr(retort.Revision("b", (), "", 0)),
                         "Revision('b', parents=(), message='', flags=0)")
        self.assertEqual(retort.Revision("c", (), "", retort.REV_DIRTY | 64).flag_names,
                         ("REV_DIRTY", "0x40"))

    def test_step_event_repr_names_its_status(self):
        before = retort.StepEvent(retort.EVENT_BEFORE, 1, 1, 2, "a1", "m", retort.OK, 0, None)
        after = retort.StepEvent(retort.EVENT_AFTER, -1, 2, 2, "a2", "m", retort.EMIGRATION,
                                 7, "boom")
        self.assertEqual(repr(before), "StepEvent(before up 'a1' 1/2)")
        self.assertEqual(repr(after), "StepEvent(after down 'a2' 2/2 EMIGRATION in 7ms: boom)")

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
