"""The package around the binding: every constant of retort.h with its
value, __version__ (against the library at run time, and against
pyproject.toml and meson.build in the source tree), py.typed and the type
hints, and readable reprs."""

import os
import re
import unittest

import retort

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.environ.get("RETORT_INCLUDE_DIR",
                         os.path.join(HERE, os.pardir, os.pardir, os.pardir, "include",
                                      "retort"))


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


class PackageTest(unittest.TestCase):

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

    @unittest.skipUnless(os.path.isdir(INCLUDE), "the public headers are not at " + INCLUDE)
    def test_every_function_of_the_header_is_wrapped(self):
        # Declared (test_binding.py) is not enough: some method or function
        # of the package must call it.  retort_set_allocator alone is left
        # out on purpose (a Python allocator under every C allocation).
        with open(os.path.join(INCLUDE, "retort.h"), encoding="utf-8") as f:
            header = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
        names = set(re.findall(r"\bRETORT_API\b[^;{(]*?\b(retort_\w+)\s*\(", header))
        self.assertGreater(len(names), 50)
        with open(retort.__file__, encoding="utf-8") as f:
            source = f.read()
        unwrapped = sorted(n for n in names - {"retort_set_allocator"}
                           if not re.search(r"\.%s\b" % n, source))
        self.assertEqual(unwrapped, [], "retort.h functions no method of the package calls")

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
        self.assertEqual(retort.Retort.revisions.__annotations__.get("return"),
                         "List[Revision]")
        # Every public function, method and property says what it returns,
        # and the hints resolve.
        import inspect
        import typing
        untyped = []
        for name in retort.__all__:
            obj = getattr(retort, name)
            members = [(name, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                for m, v in vars(obj).items():
                    f = v.fget if isinstance(v, property) else v
                    if inspect.isfunction(f) and (not m.startswith("_") or m == "__init__"):
                        members.append(("%s.%s" % (name, m), f))
            for label, f in members:
                if "return" not in f.__annotations__:
                    untyped.append(label)
                typing.get_type_hints(f, vars(retort))
        self.assertEqual(untyped, [], "public API without type hints")

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


if __name__ == "__main__":
    unittest.main()
