"""The package's install route, as bindings/python/README.md gives it: pip
installs bindings/python offline (--no-build-isolation, --no-deps,
--no-index) into a temporary --target directory, and a fresh interpreter
imports retort from there alone, with RETORT_LIBRARY pointing at the
library this build linked, runs examples/python/migrate.py, and runs the
package's unittest suite (SQLite) against the installed copy.

    python3 check_install.py       # what `meson test python-install` runs

Uses the interpreter that runs it (the python3 Meson found).  Exits 0 when
every check passed, 1 on a failure, and 77 (Meson's "skipped") with the
reason when that interpreter cannot build the package offline: no pip, no
setuptools, or (setuptools older than 70.1) no wheel.  On Debian,
scripts/install-deps installs python3-pip, python3-setuptools and
python3-wheel.  The source tree is copied first, so that setuptools writes
its build/ and *.egg-info into the copy, never into the tree.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_SRC = os.path.dirname(HERE)
PYTHON = sys.executable  # the interpreter that builds, installs and imports
EXAMPLE = os.path.join(PACKAGE_SRC, os.pardir, os.pardir, "examples", "python", "migrate.py")


def missing_build_tools(python):
    """Why the interpreter python cannot build the package offline, or None."""
    probe = (
        "import importlib.util as u\n"
        "missing = []\n"
        "try:\n"
        "    import setuptools\n"
        "except ImportError:\n"
        "    missing.append('setuptools')\n"
        "else:\n"
        "    v = tuple(int(p) for p in setuptools.__version__.split('.')[:2] if p.isdigit())\n"
        "    if v < (70, 1) and u.find_spec('wheel') is None:\n"
        "        missing.append('wheel (needed by setuptools %s)' % setuptools.__version__)\n"
        "if u.find_spec('pip') is None:\n"
        "    missing.insert(0, 'pip')\n"
        "print(', '.join(missing))\n")
    run = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    if run.returncode != 0:
        return "probing %s failed: %s" % (python, run.stderr.strip()[-300:])
    if run.stdout.strip():
        return "%s has no %s" % (python, run.stdout.strip())
    return None


def choose_interpreter():
    """The interpreter that runs this script, else the system's python3
    (a python3 of pyenv or a venv first on PATH may lack pip's build tools,
    which scripts/install-deps installs for Debian's): (path, None), or
    (None, why neither can build the package)."""
    reasons = []
    for python in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(python) or (reasons and python == sys.executable):
            continue
        why = missing_build_tools(python)
        if why is None:
            return python, None
        reasons.append(why)
    return None, "; ".join(reasons)


def main():
    global PYTHON
    reason = os.environ.get("RETORT_PY_SKIP")
    if not reason:
        PYTHON, reason = choose_interpreter()
    if reason:
        # CI installs the tools (scripts/install-deps): missing there, the
        # route is broken, not skipped.
        if os.environ.get("CI") == "true" and not os.environ.get("RETORT_PY_SKIP"):
            print("FAIL: the pip install route: %s" % reason)
            return 1
        print("SKIP: the pip install route: %s" % reason)
        return 77
    library = os.environ.get("RETORT_LIBRARY")
    if not library or not os.path.isfile(library):
        print("FAIL: RETORT_LIBRARY must name the built library (got %r)" % library)
        return 1
    failures = []

    def check(ok, what, detail=""):
        print("%s: %s%s" % ("ok" if ok else "FAIL", what, (": " + detail) if detail and not ok
                            else ""))
        if not ok:
            failures.append(what)
        return ok

    with tempfile.TemporaryDirectory(prefix="retort-pip-") as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(PACKAGE_SRC, src,
                        ignore=shutil.ignore_patterns("tests", "build", "*.egg-info",
                                                      "__pycache__", "meson.build"))
        site = os.path.join(tmp, "site")
        # Nothing from the caller's pip configuration (index, find-links):
        # the route must work offline from the source alone.
        env = {k: v for k, v in os.environ.items()
               if k != "PYTHONPATH" and not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
        env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        pip = subprocess.run(
            [PYTHON, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
             "--no-index", "--no-cache-dir", "--target", site, src],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
        if not check(pip.returncode == 0, "pip installs the package offline",
                     (pip.stdout + pip.stderr)[-2000:]):
            return 1
        check(os.path.isfile(os.path.join(site, "retort", "__init__.py")),
              "the package directory retort/ is installed")
        check(os.path.isfile(os.path.join(site, "retort", "py.typed")),
              "py.typed is installed beside it")
        dist = [d for d in os.listdir(site) if d.endswith(".dist-info")]
        check(dist == ["retort-0.1.0.dist-info"], "its metadata is retort 0.1.0", repr(dist))
        requires = ""
        if dist:
            with open(os.path.join(site, dist[0], "METADATA"), encoding="utf-8") as f:
                requires = "".join(l for l in f if l.startswith("Requires-Dist:"))
        check(requires == "", "it has no runtime dependency", requires)

        # A fresh interpreter, outside the source tree, with only the
        # installed copy on its path.
        run_env = dict(env, PYTHONPATH=site, RETORT_LIBRARY=library,
                       PYTHONDONTWRITEBYTECODE="1")
        code = ("import retort, sys\n"
                "print(retort.__file__)\n"
                "print(retort.__version__, retort.version())\n")
        imp = subprocess.run([PYTHON, "-c", code], cwd=tmp, env=run_env,
                             capture_output=True, text=True, timeout=120)
        lines = imp.stdout.splitlines()
        check(imp.returncode == 0 and len(lines) == 2 and
              lines[0] == os.path.join(site, "retort", "__init__.py"),
              "retort is imported from the installed copy", imp.stdout + imp.stderr)
        check(len(lines) == 2 and lines[1] == "0.1.0 0.1.0",
              "retort.__version__ is the loaded library's version", imp.stdout + imp.stderr)

        db = os.path.join(tmp, "app.db")
        for attempt in ("migrates a database", "changes nothing when run again"):
            ex = subprocess.run([PYTHON, EXAMPLE, "sqlite:" + db], cwd=tmp,
                                env=run_env, capture_output=True, text=True, timeout=120)
            check(ex.returncode == 0 and ex.stdout.strip() == "at 0002_seed",
                  "examples/python/migrate.py " + attempt, ex.stdout + ex.stderr)
        if os.path.isfile(db):
            conn = sqlite3.connect(db)
            try:
                rows = conn.execute("SELECT name, monthly_usd FROM plans").fetchall()
            except sqlite3.Error as e:
                rows = str(e)
            finally:
                conn.close()
        else:
            rows = "no database file"
        check(rows == [("free", 0)], "the database holds the example's table and row",
              repr(rows))

        # The package's whole unittest suite (SQLite) against the installed
        # copy instead of the source tree.
        suite = subprocess.run(
            [PYTHON, os.path.join(HERE, "run_tests.py")], cwd=tmp,
            env=dict(run_env, RETORT_PY_INSTALLED="1", RETORT_TEST_BACKEND="sqlite"),
            capture_output=True, text=True, timeout=600)
        if suite.returncode == 77:
            print("# the suite skipped: " + suite.stdout.strip()[-300:])
        else:
            check(suite.returncode == 0, "the unittest suite passes against the installed copy",
                  (suite.stdout + suite.stderr)[-3000:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
