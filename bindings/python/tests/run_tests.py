"""Runs the binding's unittest suite for `meson test`.

    python3 run_tests.py            # RETORT_TEST_BACKEND picks the database

Exits 0 when every test passed, 1 on a failure, and 77 (Meson's "skipped")
with the reason on standard output when the chosen backend cannot be
reached, so that a run without a PostgreSQL server shows as SKIP rather
than as a pass.  Any unittest.main option (-k PATTERN, -f, ...) can follow.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# The package from this source tree (bindings/python/retort), unless the
# caller installed it and asks for that copy (RETORT_PY_INSTALLED=1).
PACKAGE_ROOT = os.path.dirname(HERE)
if not os.environ.get("RETORT_PY_INSTALLED"):
    sys.path.insert(0, PACKAGE_ROOT)
sys.path.insert(0, HERE)

import fixture  # noqa: E402  (needs the path above)


def main():
    reason = os.environ.get("RETORT_PY_SKIP") or fixture.backend_unavailable()
    if reason:
        print("SKIP: %s tests: %s" % (fixture.BACKEND, reason))
        return 77
    argv = [sys.argv[0], "discover", "-s", HERE, "-t", HERE, "-p", "test*.py", "-v"]
    program = unittest.main(module=None, argv=argv + sys.argv[1:], exit=False)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
