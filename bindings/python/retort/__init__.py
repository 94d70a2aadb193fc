"""retort for Python: versioned database schema migrations through libretort.

A binding that needs nothing but the standard library: it loads the shared
object with ctypes and wraps the public C API (include/retort/retort.h)
function for function, in Python's idiom::

    import retort

    def seed_up(conn):
        conn.execute("INSERT INTO plans (name) VALUES ($1)", ["free"])

    def seed_down(conn):
        conn.execute("DELETE FROM plans")

    with retort.Retort("sqlite:app.db") as r:
        r.add_sql("a1", None, "create plans",
                  "CREATE TABLE plans (name TEXT)", "DROP TABLE plans")
        r.add("a2", "a1", "seed plans", up=seed_up, down=seed_down)
        r.migrate_to_head()
        print(r.current())          # ['a2']

Which library is loaded: the path in the environment variable
RETORT_LIBRARY if set, else whatever ctypes.util.find_library("retort")
finds (the installed library), else "libretort.so.0" through the dynamic
linker's search path.  load_library() chooses explicitly.

Every failure raises retort.Error (or the subclass for its status code, such
as MigrationError or TargetError) carrying .code and the library's message.
The library logs through the "retort" logger of the logging module.

Ownership rules of the C API are handled here: strings returned by the
library are copied into Python strings at once (they are only valid until
the context's next call), and the ctypes callback objects are kept on the
Retort object for as long as the C context can call them.

retort.__version__ is this package's version, the library version it was
written for; retort.version() is the loaded library's at run time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

__version__ = "0.1.0"

__all__ = [
    "Retort", "Conn", "Revision", "StepEvent", "Error", "load_library", "library_path",
    "version", "version_number", "strerror", "backend_schemes", "has_backend",
    "has_function", "__version__",
]

# What the C API accepts as text: str, UTF-8 bytes, or a path.
StrLike = Union[str, bytes, "os.PathLike[str]"]
# A revision's parents: None or "" for a root, an id, or several ids.
Parents = Union[None, str, Sequence[str]]

# ------------------------------------------------------------- constants
# Mirrors of the header's enums.  The C library never renumbers them, so
# copying them here is safe across minor releases.

OK = 0
ERROR = 1
EINVAL = 2
ENOMEM = 3
EEXIST = 4
EGRAPH = 5
ETARGET = 6
EURL = 7
ECONNECT = 8
EDB = 9
EMIGRATION = 10
EIRREVERSIBLE = 11
EUNKNOWN = 12
EDIRTY = 13
ECHECKSUM = 14
ELOCK = 15
EOFFLINE = 16
EIO = 17
EPARSE = 18
EMISUSE = 19
ENOTFOUND = 20
EPENDING = 21
EBACKEND = 22
ECHECKFAIL = 23
EDRIFT = 24

REV_IRREVERSIBLE = 1
REV_NO_TRANSACTION = 2
REV_SQL = 4
REV_APPLIED = 8
REV_DIRTY = 16

ROW_UNKNOWN = 1
ROW_EDITED = 2
ROW_CHECKSUM_OK = 4

TX_PER_MIGRATION = 0
TX_WHOLE_RUN = 1

CHECKSUM_WARN = 0
CHECKSUM_ERROR = 1
CHECKSUM_IGNORE = 2

LOG_NONE = 0
LOG_ERROR = 1
LOG_WARN = 2
LOG_INFO = 3
LOG_DEBUG = 4

# Phases of a step event (set_event_handler).
EVENT_BEFORE = 1
EVENT_AFTER = 2

_CODE_NAMES = {
    OK: "RETORT_OK", ERROR: "RETORT_ERROR", EINVAL: "RETORT_EINVAL",
    ENOMEM: "RETORT_ENOMEM", EEXIST: "RETORT_EEXIST", EGRAPH: "RETORT_EGRAPH",
    ETARGET: "RETORT_ETARGET", EURL: "RETORT_EURL", ECONNECT: "RETORT_ECONNECT",
    EDB: "RETORT_EDB", EMIGRATION: "RETORT_EMIGRATION",
    EIRREVERSIBLE: "RETORT_EIRREVERSIBLE", EUNKNOWN: "RETORT_EUNKNOWN",
    EDIRTY: "RETORT_EDIRTY", ECHECKSUM: "RETORT_ECHECKSUM", ELOCK: "RETORT_ELOCK",
    EOFFLINE: "RETORT_EOFFLINE", EIO: "RETORT_EIO", EPARSE: "RETORT_EPARSE",
    EMISUSE: "RETORT_EMISUSE", ENOTFOUND: "RETORT_ENOTFOUND",
    EPENDING: "RETORT_EPENDING", EBACKEND: "RETORT_EBACKEND",
    ECHECKFAIL: "RETORT_ECHECKFAIL", EDRIFT: "RETORT_EDRIFT",
}

# ---------------------------------------------------------------- errors


class Error(Exception):
    """A retort failure: .code is the RETORT_E* status, .message the
    library's message (naming the revision, target or setting at fault, with
    the database's own text where there is one)."""

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def name(self) -> str:
        """The status code's C name, e.g. "RETORT_EMIGRATION"."""
        return _CODE_NAMES.get(self.code, "RETORT_E%d" % self.code)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "%s(%s, %r)" % (type(self).__name__, self.name, self.message)


class InvalidArgumentError(Error, ValueError):
    """RETORT_EINVAL: a malformed id, target, setting or argument."""


class OutOfMemoryError(Error, MemoryError):
    """RETORT_ENOMEM."""


class DuplicateError(Error):
    """RETORT_EEXIST: a revision with that id is already registered."""


class GraphError(Error):
    """RETORT_EGRAPH: an unknown parent or a cycle."""


class TargetError(Error):
    """RETORT_ETARGET: the target is unknown or ambiguous, or "head" was
    asked for with several heads."""


class URLError(Error):
    """RETORT_EURL: a malformed URL or a scheme no backend serves."""


class ConnectError(Error):
    """RETORT_ECONNECT: the database could not be reached."""


class DatabaseError(Error):
    """RETORT_EDB: the database reported an error."""


class MigrationError(Error):
    """RETORT_EMIGRATION: a revision's SQL or callback failed.  When a Python
    callback raised, that exception is the __cause__ of this one."""


class IrreversibleError(Error):
    """RETORT_EIRREVERSIBLE: the downgrade plan holds an irreversible
    revision; nothing was run."""


class UnknownRevisionError(Error):
    """RETORT_EUNKNOWN: the database holds a revision the registry does not
    know."""


class DirtyError(Error):
    """RETORT_EDIRTY: a non-transactional revision failed midway; resolve it
    with mark_applied() or mark_reverted()."""


class ChecksumError(Error):
    """RETORT_ECHECKSUM: an applied SQL migration's text changed."""


class LockError(Error):
    """RETORT_ELOCK: the lock or busy timeout expired."""


class OfflineError(Error):
    """RETORT_EOFFLINE: a callback needed the live connection while a script
    was being rendered."""


class FileError(Error):
    """RETORT_EIO: a file could not be read or written."""


class ParseError(Error):
    """RETORT_EPARSE: a migration or configuration file is malformed."""


class MisuseError(Error):
    """RETORT_EMISUSE: the call is not allowed here (from inside a callback,
    on a closed context, a setting after the first operation)."""


class NotFoundError(Error, LookupError):
    """RETORT_ENOTFOUND: no such revision or object."""


class PendingError(Error):
    """RETORT_EPENDING: check() found revisions still to be applied."""


class BackendError(Error):
    """RETORT_EBACKEND: a backend registration was rejected."""


class CheckFailedError(Error):
    """RETORT_ECHECKFAIL: a test_* check found a defect in the migrations."""


_ERROR_CLASSES = {
    EINVAL: InvalidArgumentError, ENOMEM: OutOfMemoryError, EEXIST: DuplicateError,
    EGRAPH: GraphError, ETARGET: TargetError, EURL: URLError, ECONNECT: ConnectError,
    EDB: DatabaseError, EMIGRATION: MigrationError, EIRREVERSIBLE: IrreversibleError,
    EUNKNOWN: UnknownRevisionError, EDIRTY: DirtyError, ECHECKSUM: ChecksumError,
    ELOCK: LockError, EOFFLINE: OfflineError, EIO: FileError, EPARSE: ParseError,
    EMISUSE: MisuseError, ENOTFOUND: NotFoundError, EPENDING: PendingError,
    EBACKEND: BackendError, ECHECKFAIL: CheckFailedError,
}


def _error(code: int, message: str) -> Error:
    """The exception for a status code; codes newer than this binding get
    the base class, so an old binding keeps working with a newer library."""
    return _ERROR_CLASSES.get(code, Error)(code, message)


# ------------------------------------------------------ the shared object

_c_int_p = ctypes.POINTER(ctypes.c_int)
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)

# retort_fn and retort_log_fn.  The connection and user pointers stay
# c_void_p: the binding never looks inside them.
_STEP_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                             ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_long,
                             ctypes.c_void_p)
_VERSION_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_char_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_int,
                               ctypes.c_void_p)
_AUDIT_FN = ctypes.CFUNCTYPE(None, ctypes.c_long, ctypes.c_char_p, ctypes.c_char_p,
                             ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                             ctypes.c_int, ctypes.c_void_p)
_MALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t)
_REALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_FREE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

# Every public function of retort.h and backend.h: (restype, argtypes).
# tests check this table against the headers, so a function added to the C
# API without a declaration here is noticed.
_PROTOTYPES = {
    # versions and errors
    "retort_version": (ctypes.c_char_p, []),
    "retort_version_number": (ctypes.c_int, []),
    "retort_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    # lifecycle
    "retort_new": (ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]),
    "retort_free": (None, [ctypes.c_void_p]),
    "retort_errmsg": (ctypes.c_char_p, [ctypes.c_void_p]),
    "retort_errcode": (ctypes.c_int, [ctypes.c_void_p]),
    # registration
    "retort_add": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                  ctypes.c_char_p, _STEP_FN, _STEP_FN, ctypes.c_void_p]),
    "retort_add_sql": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
    "retort_revision_set_transactional": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                         ctypes.c_int]),
    "retort_load_dir": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_load_dirs": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p),
                                        ctypes.c_int]),
    "retort_revision_set_branch_labels": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                         ctypes.c_char_p]),
    "retort_revision_set_depends_on": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                      ctypes.c_char_p]),
    # operations
    "retort_migrate_to_head": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_upgrade": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_downgrade": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_current": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_stamp": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_adopt": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_stamp_purge": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_repeatables": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_check": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_plan": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                                   _c_char_pp]),
    "retort_mark_applied": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_mark_reverted": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    # introspection
    "retort_heads": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_revision_count": (ctypes.c_int, [ctypes.c_void_p, _c_int_p]),
    "retort_revision_links": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, _c_char_pp,
                                             _c_char_pp]),
    "retort_revision_info": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, _c_char_pp,
                                            _c_char_pp, _c_char_pp, _c_int_p]),
    "retort_applied": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_repair": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_versions": (ctypes.c_int, [ctypes.c_void_p, _VERSION_FN, ctypes.c_void_p]),
    "retort_audit_log": (ctypes.c_int, [ctypes.c_void_p, _AUDIT_FN, ctypes.c_void_p]),
    # settings
    "retort_set_version_table": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_set_schema": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_set_lock_timeout": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "retort_set_transaction_mode": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "retort_set_checksum_policy": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "retort_set_tolerate_unknown": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "retort_set": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
    # logging
    "retort_set_log": (ctypes.c_int, [ctypes.c_void_p, _LOG_FN, ctypes.c_void_p]),
    "retort_set_log_level": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "retort_set_event_fn": (ctypes.c_int, [ctypes.c_void_p, _EVENT_FN, ctypes.c_void_p]),
    # offline SQL
    "retort_upgrade_sql": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _c_char_pp]),
    "retort_stamp_sql": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _c_char_pp]),
    "retort_downgrade_sql": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _c_char_pp]),
    # inside a callback
    "retort_exec": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_exec_params": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                          ctypes.POINTER(ctypes.c_char_p)]),
    "retort_native": (ctypes.c_void_p, [ctypes.c_void_p]),
    "retort_conn_backend": (ctypes.c_char_p, [ctypes.c_void_p]),
    "retort_conn_is_offline": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_conn_set_error": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    # process-wide allocator hook: declared so that the table matches the
    # header, deliberately not wrapped (a Python allocator would run under
    # every allocation the library makes, and may not be swapped while any
    # context exists).
    "retort_set_allocator": (ctypes.c_int, [_MALLOC_FN, _REALLOC_FN, _FREE_FN]),
    # test harness
    "retort_new_fresh": (ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]),
    "retort_fresh_url": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_drop_templates": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_schema_snapshot": (ctypes.c_int, [ctypes.c_void_p, _c_char_pp]),
    "retort_test_single_head": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_test_upgrade": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_test_stairway": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_test_stairway_partial": (ctypes.c_int, [ctypes.c_void_p,
                                                    ctypes.POINTER(ctypes.c_char_p)]),
    "retort_test_downgrade": (ctypes.c_int, [ctypes.c_void_p]),
    # autogenerate
    "retort_autogenerate": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _c_char_pp,
                                           _c_char_pp]),
    "retort_schema_diff": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _c_char_pp]),
    # backend.h.  The vtable itself is a C struct (the one layout of the
    # API); writing a backend in Python is out of this binding's scope, but
    # the lookups are useful to callers and declared like everything else.
    "retort_report_error": (None, [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]),
    "retort_report_secret": (None, [ctypes.c_void_p, ctypes.c_char_p]),
    "retort_register_backend": (ctypes.c_int, [ctypes.c_void_p]),
    "retort_backend_find": (ctypes.c_void_p, [ctypes.c_char_p]),
    "retort_backend_schemes": (ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t]),
    # A future function the binding uses when the library has it: the
    # message of the last failed retort_exec* inside a callback.
    "retort_conn_errmsg": (ctypes.c_char_p, [ctypes.c_void_p]),
}

# Functions that may be absent: newer than the oldest library this binding
# supports.  Calling one that is missing raises Error instead of failing at
# load time.
_OPTIONAL = set()


class _Lib:
    """The loaded shared object with every prototype declared.  A function
    the library does not export (an older library, or a partial build) is
    recorded as missing and raises Error when called."""

    def __init__(self, path):
        self.path = path
        self.cdll = ctypes.CDLL(path)
        self.missing = set()
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(self.cdll, name)
            except AttributeError:
                self.missing.add(name)
                setattr(self, name, _missing_function(name, path))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)


def _missing_function(name, path):
    def call(*args):
        raise Error(ERROR, "%s: the library %s does not export %s (it is older than this "
                           "binding, or built without it)" % (name, path, name))
    return call


_lib_lock = threading.Lock()
_lib_instance = None


def _default_library():
    env = os.environ.get("RETORT_LIBRARY")
    if env:
        return env
    found = ctypes.util.find_library("retort")
    return found or "libretort.so.0"


def load_library(path: Optional[str] = None) -> str:
    """Loads libretort (once per process; later calls return the same one).
    path: a file name or path for ctypes.CDLL; None chooses as the module
    documentation says.  Returns the path that was loaded."""
    global _lib_instance
    with _lib_lock:
        if _lib_instance is None:
            chosen = path or _default_library()
            try:
                _lib_instance = _Lib(chosen)
            except OSError as exc:
                raise OSError("retort: cannot load the retort library %r (%s); set "
                              "RETORT_LIBRARY to the path of libretort.so, or install it"
                              % (chosen, exc)) from exc
        elif path and path != _lib_instance.path:
            raise Error(EMISUSE, "retort: %s is already loaded; cannot load %s as well"
                        % (_lib_instance.path, path))
        return _lib_instance.path


def _lib():
    if _lib_instance is None:
        load_library()
    return _lib_instance


def library_path() -> str:
    """The path or name of the loaded library (loading it if needed)."""
    return _lib().path


def has_function(name: str) -> bool:
    """Whether the loaded library exports the C function name."""
    return name in _PROTOTYPES and name not in _lib().missing


# --------------------------------------------------------------- strings

def _enc(value, what):
    """Text for the C API: UTF-8 bytes, None for NULL."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fsencode(value)
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if b"\0" in value:
        raise InvalidArgumentError(EINVAL, "%s contains a NUL character" % what)
    return value


def _dec(value):
    return "" if value is None else value.decode("utf-8", "replace")


def _words(value):
    return _dec(value).split()


def _parents(parents):
    """NULL/"" for a root, one id, or a merge given as a list or a string."""
    if parents is None or isinstance(parents, (str, bytes)):
        return _enc(parents, "parents")
    return _enc(" ".join(parents), "parents")


# -------------------------------------------------------- module functions

def version() -> str:
    """The library's version string at run time, e.g. "0.1.0"."""
    return _dec(_lib().retort_version())


def version_number() -> int:
    """The library's RETORT_VERSION_NUMBER (MAJOR*10000 + MINOR*100 + PATCH)."""
    return _lib().retort_version_number()


def strerror(code: int) -> str:
    """The static description of a status code."""
    return _dec(_lib().retort_strerror(code))


def backend_schemes() -> List[str]:
    """The URL schemes the library can serve now, built-in and registered."""
    lib = _lib()
    need = lib.retort_backend_schemes(None, 0)
    buf = ctypes.create_string_buffer(need + 1)
    lib.retort_backend_schemes(buf, need + 1)
    return _words(buf.value)


def has_backend(name: str) -> bool:
    """Whether a backend serves scheme (or is named) name."""
    return bool(_lib().retort_backend_find(_enc(name, "name")))


# ------------------------------------------------------------------ logging

# C level -> logging level, and back.
_TO_PY_LEVEL = {LOG_ERROR: logging.ERROR, LOG_WARN: logging.WARNING, LOG_INFO: logging.INFO,
                LOG_DEBUG: logging.DEBUG}
_LEVEL_WORDS = {"none": LOG_NONE, "error": LOG_ERROR, "warn": LOG_WARN, "warning": LOG_WARN,
                "info": LOG_INFO, "debug": LOG_DEBUG}


def _c_level_for(logger):
    """The C log level that lets through exactly what logger would emit, so
    that the library does not format messages Python would drop."""
    level = logger.getEffectiveLevel()
    if level <= logging.DEBUG:
        return LOG_DEBUG
    if level <= logging.INFO:
        return LOG_INFO
    if level <= logging.WARNING:
        return LOG_WARN
    if level <= logging.ERROR:
        return LOG_ERROR
    return LOG_NONE


# ---------------------------------------------------------------- Revision

class Revision:
    """A registered revision, as retort_revision_info() reports it."""

    __slots__ = ("id", "parents", "message", "flags")

    id: str
    parents: Tuple[str, ...]
    message: str
    flags: int

    def __init__(self, id: str, parents: Tuple[str, ...], message: str, flags: int) -> None:
        self.id = id
        self.parents = parents
        self.message = message
        self.flags = flags

    @property
    def irreversible(self) -> bool:
        return bool(self.flags & REV_IRREVERSIBLE)

    @property
    def transactional(self) -> bool:
        return not self.flags & REV_NO_TRANSACTION

    @property
    def sql(self) -> bool:
        return bool(self.flags & REV_SQL)

    @property
    def applied(self) -> bool:
        return bool(self.flags & REV_APPLIED)

    @property
    def dirty(self) -> bool:
        return bool(self.flags & REV_DIRTY)

    @property
    def flag_names(self) -> Tuple[str, ...]:
        """The set flags by name, e.g. ("REV_SQL", "REV_APPLIED")."""
        return _flag_names(self.flags)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Revision):
            return NotImplemented
        return (self.id, self.parents, self.message, self.flags) == \
            (other.id, other.parents, other.message, other.flags)

    __hash__ = None  # type: ignore[assignment]  # compared by value, mutable

    def __repr__(self) -> str:
        return "Revision(%r, parents=%r, message=%r, flags=%s)" % (
            self.id, self.parents, self.message, "|".join(self.flag_names) or "0")


_REV_FLAGS = (("REV_IRREVERSIBLE", REV_IRREVERSIBLE), ("REV_NO_TRANSACTION", REV_NO_TRANSACTION),
              ("REV_SQL", REV_SQL), ("REV_APPLIED", REV_APPLIED), ("REV_DIRTY", REV_DIRTY))


def _flag_names(flags: int) -> Tuple[str, ...]:
    """A revision's flags as the constants' names; bits this binding does
    not know (a newer library) as their value."""
    names = [name for name, bit in _REV_FLAGS if flags & bit]
    unknown = flags & ~sum(bit for _, bit in _REV_FLAGS)
    if unknown:
        names.append("0x%x" % unknown)
    return tuple(names)


class StepEvent:
    """One step event (Retort.set_event_handler): phase EVENT_BEFORE or
    EVENT_AFTER; direction 1 (upgrade) or -1 (downgrade); index (1, 2, ...)
    and total of the steps this call runs; the revision's id and message;
    status (OK, or the error code in an after-event); duration_ms; error,
    the library's message when status is not OK, else None."""

    __slots__ = ("phase", "direction", "index", "total", "id", "message", "status",
                 "duration_ms", "error")

    phase: int
    direction: int
    index: int
    total: int
    id: str
    message: str
    status: int
    duration_ms: int
    error: Optional[str]

    def __init__(self, phase: int, direction: int, index: int, total: int, id: str,
                 message: str, status: int, duration_ms: int, error: Optional[str]) -> None:
        self.phase = phase
        self.direction = direction
        self.index = index
        self.total = total
        self.id = id
        self.message = message
        self.status = status
        self.duration_ms = duration_ms
        self.error = error

    def __repr__(self) -> str:
        head = "StepEvent(%s %s %r %d/%d" % (
            "before" if self.phase == EVENT_BEFORE else "after",
            "up" if self.direction > 0 else "down", self.id, self.index, self.total)
        if self.phase != EVENT_AFTER:
            return head + ")"
        status = _CODE_NAMES.get(self.status, "RETORT_E%d" % self.status)[len("RETORT_"):]
        return "%s %s in %dms%s)" % (head, status, self.duration_ms,
                                     ": %s" % self.error if self.error else "")


# -------------------------------------------------------------------- Conn

class Conn:
    """What a migration callback works through; valid only during the call.

    execute(sql) runs one or more statements, execute(sql, params) one
    statement with $1, $2, ... bound to params (None binds NULL; other
    values are passed as text).  Inside the revision's transaction when it
    has one; offline, the statements are appended to the script."""

    __slots__ = ("_ptr", "_lib", "revision", "direction")

    revision: str
    direction: str

    def __init__(self, ptr: Any, lib: Any, revision: str, direction: str) -> None:
        self._ptr = ptr
        self._lib = lib
        self.revision = revision      # the id of the revision being run
        self.direction = direction    # "up" or "down"

    def _handle(self):
        if self._ptr is None:
            raise MisuseError(EMISUSE, "the connection of revision '%s' was used after its "
                                       "callback returned" % self.revision)
        return self._ptr

    def _fail(self, code, what):
        lib = self._lib
        detail = _dec(lib.retort_conn_errmsg(self._ptr)) or _dec(lib.retort_strerror(code))
        exc = _error(code, "%s failed in revision '%s': %s" % (what, self.revision, detail))
        # The library keeps the database's text as the revision's error: the
        # marker tells the trampoline not to overwrite it.
        exc._retort_conn_failure = True
        return exc

    def execute(self, sql: StrLike, params: Optional[Sequence[Any]] = None) -> None:
        ptr = self._handle()
        sql_b = _enc(sql, "sql")
        if params is None:
            rc = self._lib.retort_exec(ptr, sql_b)
            if rc != OK:
                raise self._fail(rc, "retort_exec")
            return
        values = [_param(v) for v in params]
        array = (ctypes.c_char_p * max(len(values), 1))(*values)
        rc = self._lib.retort_exec_params(ptr, sql_b, len(values), array)
        if rc != OK:
            raise self._fail(rc, "retort_exec_params")

    @property
    def backend(self) -> str:
        """"sqlite", "postgresql", ...: for callbacks that branch on dialect."""
        return _dec(self._lib.retort_conn_backend(self._handle()))

    @property
    def offline(self) -> bool:
        """True while rendering a script (upgrade_sql / downgrade_sql)."""
        return bool(self._lib.retort_conn_is_offline(self._handle()))

    @property
    def native(self) -> Optional[int]:
        """The driver's native handle (sqlite3 *, PGconn *) as an integer
        address, or None offline (which makes the rendering fail with
        OfflineError if the callback then fails)."""
        return self._lib.retort_native(self._handle())

    def __repr__(self) -> str:
        return "<retort.Conn %s %r%s>" % (self.direction, self.revision,
                                          " (closed)" if self._ptr is None else "")


def _param(value):
    if value is None:
        return None
    if isinstance(value, bool):
        # "1"/"0" is a boolean to PostgreSQL and an integer to SQLite.
        return b"1" if value else b"0"
    if isinstance(value, (bytes, str)):
        return _enc(value, "parameter")
    return _enc(str(value), "parameter")


# ------------------------------------------------------------------ Retort

class _Step:
    __slots__ = ("id", "up", "down")

    def __init__(self, id, up, down):
        self.id = id
        self.up = up
        self.down = down


class Retort:
    """One migration context: registry, settings and connection.

    url: "sqlite:PATH", "sqlite::memory:", "postgresql://..." and the other
    forms of retort_new(); None resolves as the C library does
    (RETORT_DATABASE_URL, else sqlite:retort.db).  Does not connect.

    logger: where the library's log messages go (default
    logging.getLogger("retort")).  log_level: "error", "warn", "info",
    "debug", "none" or a LOG_* constant; by default the library follows the
    logger's effective level at each operation.  Other keyword arguments are
    settings, as set() takes them: version_table, schema, lock_timeout,
    transaction_mode, checksum_policy, tolerate_unknown.

    A context is used by one thread at a time.  Use it as a context manager,
    or call close()."""

    def __init__(self, url: Optional[StrLike] = None, *,
                 logger: Optional[logging.Logger] = None,
                 log_level: Union[None, int, str] = None, _fresh: bool = False,
                 **settings: Any) -> None:
        lib = _lib()
        self._lib = lib
        self._ptr = None
        self._steps = []
        self._callback_exc = None
        self._in_callback = 0  # depth of our callbacks that C is running now
        self._logger = logger if logger is not None else logging.getLogger("retort")
        self._log_level_fixed = False
        # The three ctypes callback objects the C context may call; they
        # live exactly as long as this object, so C never calls freed code.
        self._up_trampoline = _STEP_FN(self._run_up)
        self._down_trampoline = _STEP_FN(self._run_down)
        self._log_trampoline = _LOG_FN(self._on_log)
        self._event_trampoline = _EVENT_FN(self._on_event)
        self._event_handler = None

        out = ctypes.c_void_p()
        new = lib.retort_new_fresh if _fresh else lib.retort_new
        rc = new(ctypes.byref(out), _enc(url, "url"))
        if rc != OK:
            message = _dec(lib.retort_errmsg(out))
            lib.retort_free(out)
            raise _error(rc, message)
        self._ptr = out.value
        try:
            self._check(lib.retort_set_log(self._ptr, self._log_trampoline, None))
            if log_level is not None:
                self.set_log_level(log_level)
            else:
                self._sync_log_level()
            for name, value in settings.items():
                self.set(name, value)
        except BaseException:
            self.close()
            raise

    @classmethod
    def fresh(cls, url: Optional[StrLike] = None, **kwargs: Any) -> "Retort":
        """A context on a fresh, empty, isolated target derived from url
        (retort_new_fresh): a private in-memory SQLite database, a temporary
        file for "sqlite:DIR/", a new PostgreSQL database on url's server
        (the role needs CREATEDB).  close() tears it down.  The target is
        created at the first operation; migrate_to_head() then clones a
        template of the registered migrations, built once.  Settings for
        fresh contexts: template_key (change it when callback code
        changes: code cannot be hashed), fresh_mode ("database" or
        "schema")."""
        return cls(url, _fresh=True, **kwargs)

    def fresh_url(self) -> str:
        """The fresh target's URL (retort_fresh_url), for connecting the
        application's own code to it; creates the target if no operation
        has yet, so call it after migrate_to_head()."""
        return self._out_string(self._lib.retort_fresh_url)

    def drop_templates(self) -> List[str]:
        """Drops every test template on the fresh target's server or
        directory (retort_drop_templates); returns their names."""
        return _words_s(self._out_string(self._lib.retort_drop_templates))

    # -- lifecycle

    def close(self) -> None:
        """Closes the connection and frees the context.  Idempotent.

        Raises MisuseError, closing nothing, when called from inside one of
        the context's own callbacks (a migration step, the log handler): the
        operation that ran it still uses the context."""
        if self._in_callback:
            raise MisuseError(
                EMISUSE, "close() called from inside a callback of this context (a "
                "migration step or the log handler); close it after the operation returns")
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._lib.retort_free(ptr)

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Retort":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()

    def __del__(self):
        # Only a safety net: the interpreter may be shutting down.
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        # No call into the library: that would replace errmsg, and the URL
        # is not shown because it may hold a password.
        return "<retort.Retort %s>" % ("closed" if self._ptr is None else "open")

    @property
    def errmsg(self) -> str:
        """The message of the last failure on this context ("" after a
        success)."""
        return _dec(self._lib.retort_errmsg(self._handle()))

    @property
    def errcode(self) -> int:
        """The status code of the last call on this context."""
        return self._lib.retort_errcode(self._handle())

    # -- plumbing

    def _handle(self):
        if self._ptr is None:
            raise MisuseError(EMISUSE, "the retort context is closed")
        return self._ptr

    def _check(self, rc):
        if rc != OK:
            raise _error(rc, _dec(self._lib.retort_errmsg(self._ptr)))

    def _run(self, fn, *args):
        """Calls an operation that may run callbacks, and turns a callback's
        exception into the cause of the MigrationError (or re-raises it
        as is when it was not an Exception, such as KeyboardInterrupt)."""
        handle = self._handle()
        self._sync_log_level()
        self._callback_exc = None
        try:
            rc = fn(handle, *args)
            pending, self._callback_exc = self._callback_exc, None
        finally:
            self._callback_exc = None
        if pending is not None and not isinstance(pending, Exception):
            raise pending
        if rc != OK:
            err = _error(rc, _dec(self._lib.retort_errmsg(handle)))
            if pending is not None:
                raise err from pending
            raise err

    def _out_string(self, fn, *args):
        out = ctypes.c_char_p()
        self._run(fn, *args, ctypes.byref(out))
        return _dec(out.value)

    def _sync_log_level(self):
        if not self._log_level_fixed and self._ptr is not None:
            self._lib.retort_set_log_level(self._ptr, _c_level_for(self._logger))

    # -- callbacks (called by C; must never let an exception escape)

    def _run_up(self, conn, user):
        return self._run_step(conn, user, "up")

    def _run_down(self, conn, user):
        return self._run_step(conn, user, "down")

    def _run_step(self, conn_ptr, user, direction):
        self._in_callback += 1
        try:
            return self._run_step_inner(conn_ptr, user, direction)
        finally:
            self._in_callback -= 1

    def _run_step_inner(self, conn_ptr, user, direction):
        step = None
        try:
            step = self._steps[user - 1]
            fn = step.up if direction == "up" else step.down
            conn = Conn(conn_ptr, self._lib, step.id, direction)
            try:
                fn(conn)
            finally:
                conn._ptr = None
            return 0
        except BaseException as exc:  # ctypes would print it and return 0: success
            self._callback_exc = exc
            try:
                if getattr(exc, "_retort_conn_failure", False):
                    pass  # the library already holds the database's message
                else:
                    if isinstance(exc, Error):
                        text = exc.message
                    else:
                        text = _describe(exc)
                    self._lib.retort_conn_set_error(
                        conn_ptr, text.encode("utf-8", "replace").replace(b"\0", b"?"))
            except BaseException:
                pass
            return 1

    def _on_log(self, level, message, user):
        self._in_callback += 1
        try:
            text = _dec(message)
            self._logger.log(_TO_PY_LEVEL.get(level, logging.INFO), "%s", text)
        except BaseException:
            # A broken handler must not unwind through C; logging reports
            # its own handler errors through logging.raiseExceptions.
            pass
        finally:
            self._in_callback -= 1

    def _on_event(self, phase, direction, index, total, id, message, status, duration_ms,
                  user):
        handler = self._event_handler
        if handler is None:
            return
        try:
            error = None
            if phase == EVENT_AFTER and status != OK:
                error = _dec(self._lib.retort_errmsg(self._ptr))
            handler(StepEvent(phase, direction, index, total, _dec(id), _dec(message), status,
                              duration_ms, error))
        except BaseException:
            # The step's outcome does not depend on the handler: report,
            # never unwind through C.
            try:
                self._logger.exception("retort: the event handler raised")
            except BaseException:
                pass

    def set_event_handler(self, handler: Optional[Callable[[StepEvent], Any]]) -> None:
        """Calls handler(event) for each step of an upgrade or downgrade
        that this process itself runs (retort_set_event_fn): once before
        its body (event.phase EVENT_BEFORE) and once when its outcome is
        known (EVENT_AFTER, event.status OK or the error code, event.error
        the library's message).  A step another process took is never
        reported.  The handler must not call this context; an exception it
        raises is logged and does not change the outcome.  None: no
        handler."""
        if handler is not None and not callable(handler):
            raise TypeError("handler must be callable or None")
        self._check(self._lib.retort_set_event_fn(
            self._handle(), self._event_trampoline if handler is not None else _EVENT_FN(),
            None))
        self._event_handler = handler

    # -- registration

    def add(self, id: str, parents: Parents = None, message: Optional[str] = None, *,
            up: Callable[[Conn], Any], down: Optional[Callable[[Conn], Any]] = None,
            transactional: bool = True) -> None:
        """Registers a revision implemented by Python callables up(conn) and
        down(conn) (down None: irreversible).  A callable fails the revision
        by raising; its transaction is rolled back and the operation raises
        MigrationError with the exception's text, the exception as cause.
        parents: None or "" for a root, an id, or several (a list, or a
        string separated by spaces or commas) for a merge."""
        if not callable(up):
            raise TypeError("up must be callable")
        if down is not None and not callable(down):
            raise TypeError("down must be callable or None")
        step = _Step(id, up, down)
        self._steps.append(step)
        try:
            self._check(self._lib.retort_add(
                self._handle(), _enc(id, "id"), _parents(parents), _enc(message, "message"),
                self._up_trampoline,
                self._down_trampoline if down is not None else _STEP_FN(),
                ctypes.c_void_p(len(self._steps))))
        except BaseException:
            self._steps.pop()
            raise
        if not transactional:
            self.set_transactional(id, False)

    def add_sql(self, id: str, parents: Parents, message: Optional[str], up_sql: str,
                down_sql: Optional[str] = None, *, transactional: bool = True) -> None:
        """Registers a revision implemented by SQL text (one or more
        statements); down_sql None makes it irreversible."""
        self._check(self._lib.retort_add_sql(
            self._handle(), _enc(id, "id"), _parents(parents), _enc(message, "message"),
            _enc(up_sql, "up_sql"), _enc(down_sql, "down_sql")))
        if not transactional:
            self.set_transactional(id, False)

    def set_transactional(self, id: str, on: bool = True) -> None:
        """Marks a registered revision transactional (the default) or not."""
        self._check(self._lib.retort_revision_set_transactional(
            self._handle(), _enc(id, "id"), 1 if on else 0))

    def set_branch_labels(self, id: str, labels: Union[str, Sequence[str], None]) -> None:
        """Sets the branch labels of revision id (a list, or a string
        separated by spaces or commas; [] clears them).  A label another
        revision has, or an id, raises and changes nothing."""
        self._check(self._lib.retort_revision_set_branch_labels(
            self._handle(), _enc(id, "id"), _parents(labels)))

    def set_depends_on(self, id: str, depends_on: Union[str, Sequence[str], None]) -> None:
        """Sets the revisions (ids or branch labels) id depends on without
        being their child (Alembic's depends_on); [] clears them."""
        self._check(self._lib.retort_revision_set_depends_on(
            self._handle(), _enc(id, "id"), _parents(depends_on)))

    def links(self) -> Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]]:
        """{id: (branch_labels, depends_on)} for every registered revision,
        each a tuple of names."""
        handle = self._handle()
        result = {}
        for i in range(self.revision_count()):
            id_ = ctypes.c_char_p()
            labels, deps = ctypes.c_char_p(), ctypes.c_char_p()
            self._check(self._lib.retort_revision_info(handle, i, ctypes.byref(id_), None,
                                                       None, None))
            ident = _dec(id_.value)
            self._check(self._lib.retort_revision_links(handle, i, ctypes.byref(labels),
                                                        ctypes.byref(deps)))
            result[ident] = (tuple(_words(labels.value)), tuple(_words(deps.value)))
        return result

    def repeatables(self) -> List[Tuple[str, str]]:
        """Flyway's repeatable migrations of the loaded directory, in the
        order an upgrade to head runs them, each (id, state) with state
        "applied", "changed" or "pending" (retort_repeatables)."""
        text = self._out_string(self._lib.retort_repeatables)
        return [tuple(line.split(" ", 1)) for line in text.splitlines() if line]  # type: ignore

    def load_dir(self, path: StrLike) -> None:
        """Registers every SQL migration file in directory path."""
        self._check(self._lib.retort_load_dir(self._handle(), _enc(path, "path")))

    def load_dirs(self, paths: Sequence[StrLike]) -> None:
        """Registers the migrations of several directories as one registry
        (Alembic's version_locations): parents may be in any of them; an id
        in two of them is an error naming both files."""
        encoded = [_enc(p, "path") for p in paths]
        array = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        self._check(self._lib.retort_load_dirs(self._handle(), array, len(encoded)))

    # -- operations

    def migrate_to_head(self) -> None:
        """Applies every unapplied revision up to the single head."""
        self._run(self._lib.retort_migrate_to_head)

    def upgrade(self, target: str = "head") -> None:
        """target: "head", "heads", a revision id, or "+N"."""
        self._run(self._lib.retort_upgrade, _enc(target, "target"))

    def downgrade(self, target: str) -> None:
        """target: "base", a revision id, or "-N"."""
        self._run(self._lib.retort_downgrade, _enc(target, "target"))

    def stamp(self, target: str) -> None:
        """Records target ("base", "head", "heads", ids) as the applied
        state without running anything."""
        self._run(self._lib.retort_stamp, _enc(target, "target"))

    def adopt(self, tool: Optional[str] = None) -> None:
        """Records as applied what another tool's version table says it
        applied ("golang-migrate", "goose", "flyway", "sqlx", "diesel",
        "dbmate", "sql-migrate", "alembic"; None: the one present), running
        nothing; see retort_adopt()."""
        self._run(self._lib.retort_adopt, None if tool is None else _enc(tool, "tool"))

    def stamp_purge(self, target: str) -> None:
        """Deletes every version row (unknown revisions' too), then records
        target; audit-logged."""
        self._run(self._lib.retort_stamp_purge, _enc(target, "target"))

    def check(self) -> None:
        """Raises PendingError, ChecksumError, DirtyError, ... unless the
        database is at every head with unchanged SQL."""
        self._run(self._lib.retort_check)

    def current(self) -> List[str]:
        """The applied heads, sorted; [] at base."""
        return sorted(_words_s(self._out_string(self._lib.retort_current)))

    def heads(self) -> List[str]:
        """The heads of the registered graph, sorted (no database access)."""
        return sorted(_words_s(self._out_string(self._lib.retort_heads)))

    def applied(self) -> List[str]:
        """Every recorded revision in the order applied."""
        return _words_s(self._out_string(self._lib.retort_applied))

    def repair(self, revision: str) -> None:
        """Re-records the checksum of an applied SQL revision whose text was
        edited on purpose (retort_repair); audited."""
        self._check(self._lib.retort_repair(self._handle(), _enc(revision, "revision")))

    def versions(self) -> List[Dict[str, Any]]:
        """The version table's rows in the order applied (retort_versions):
        dicts with id, parents (list), message, state ("applied" | "dirty"),
        applied_at (ISO 8601 UTC text), duration_ms, unknown (the registry
        does not know it) and checksum ("ok", "edited" or None)."""
        rows = []

        def on_row(id_, parents, message, state, applied_at, duration_ms, flags, user):
            rows.append({
                "id": _dec(id_), "parents": _words_s(_dec(parents)),
                "message": _dec(message), "state": _dec(state),
                "applied_at": _dec(applied_at), "duration_ms": int(duration_ms),
                "unknown": bool(flags & ROW_UNKNOWN),
                "checksum": "edited" if flags & ROW_EDITED
                            else "ok" if flags & ROW_CHECKSUM_OK else None,
            })

        trampoline = _VERSION_FN(on_row)
        self._check(self._lib.retort_versions(self._handle(), trampoline, None))
        return rows

    def audit_log(self) -> List[Dict[str, Any]]:
        """The audit log, oldest first (retort_audit_log): dicts with seq,
        revision, direction, started_at, finished_at, outcome, error (None if
        none) and statements_done (None when not recorded)."""
        entries = []

        def on_entry(seq, revision, direction, started, finished, outcome, error, done, user):
            entries.append({
                "seq": int(seq), "revision": _dec(revision), "direction": _dec(direction),
                "started_at": _dec(started), "finished_at": _dec(finished),
                "outcome": _dec(outcome), "error": _dec(error) or None,
                "statements_done": None if done < 0 else int(done),
            })

        trampoline = _AUDIT_FN(on_entry)
        self._check(self._lib.retort_audit_log(self._handle(), trampoline, None))
        return entries

    def plan(self, target: str = "head", direction: int = 1) -> List[str]:
        """The ids upgrade(target) (direction > 0) or downgrade(target)
        (direction < 0) would run now, in order."""
        return _words_s(self._out_string(self._lib.retort_plan, int(direction),
                                         _enc(target, "target")))

    def mark_applied(self, id: str) -> None:
        """Resolves a dirty revision by recording it applied (audit-logged)."""
        self._run(self._lib.retort_mark_applied, _enc(id, "id"))

    def mark_reverted(self, id: str) -> None:
        """Resolves a dirty revision by removing its row (audit-logged)."""
        self._run(self._lib.retort_mark_reverted, _enc(id, "id"))

    # -- introspection

    def revision_count(self) -> int:
        count = ctypes.c_int()
        self._check(self._lib.retort_revision_count(self._handle(), ctypes.byref(count)))
        return count.value

    def __len__(self) -> int:
        return self.revision_count()

    def revisions(self) -> List[Revision]:
        """Every registered revision in plan order (parents first)."""
        handle = self._handle()
        result = []
        for i in range(self.revision_count()):
            id_, parents, message = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
            flags = ctypes.c_int()
            self._check(self._lib.retort_revision_info(
                handle, i, ctypes.byref(id_), ctypes.byref(parents), ctypes.byref(message),
                ctypes.byref(flags)))
            result.append(Revision(_dec(id_.value), tuple(_words(parents.value)),
                                   _dec(message.value), flags.value))
        return result

    # -- settings

    def set(self, name: str, value: Any) -> None:
        """Sets a setting by name: version_table, schema, lock_timeout
        (milliseconds), transaction_mode ("per-migration" | "whole-run" or
        TX_*), checksum_policy ("warn" | "error" | "ignore" or CHECKSUM_*),
        tolerate_unknown (bool), allow_out_of_order (bool), log_level (see
        set_log_level)."""
        if name == "log_level":
            return self.set_log_level(value)
        if name == "transaction_mode" and isinstance(value, int):
            return self.set_transaction_mode(value)
        if name == "checksum_policy" and isinstance(value, int):
            return self.set_checksum_policy(value)
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif value is None and name == "schema":
            text = ""
        else:
            text = str(value)
        self._check(self._lib.retort_set(self._handle(), _enc(name, "name"),
                                         _enc(text, "value")))

    def set_version_table(self, name: str) -> None:
        self._check(self._lib.retort_set_version_table(self._handle(), _enc(name, "name")))

    def set_schema(self, schema: Optional[str]) -> None:
        self._check(self._lib.retort_set_schema(self._handle(), _enc(schema, "schema")))

    def set_lock_timeout(self, milliseconds: int) -> None:
        self._check(self._lib.retort_set_lock_timeout(self._handle(), int(milliseconds)))

    def set_transaction_mode(self, mode: Union[int, str]) -> None:
        """TX_PER_MIGRATION / TX_WHOLE_RUN or "per-migration" / "whole-run"."""
        if isinstance(mode, str):
            return self.set("transaction_mode", mode)
        self._check(self._lib.retort_set_transaction_mode(self._handle(), int(mode)))

    def set_checksum_policy(self, policy: Union[int, str]) -> None:
        """CHECKSUM_WARN / _ERROR / _IGNORE or "warn" / "error" / "ignore"."""
        if isinstance(policy, str):
            return self.set("checksum_policy", policy)
        self._check(self._lib.retort_set_checksum_policy(self._handle(), int(policy)))

    def set_tolerate_unknown(self, on: bool = True) -> None:
        self._check(self._lib.retort_set_tolerate_unknown(self._handle(), 1 if on else 0))

    def set_log_level(self, level: Union[None, int, str]) -> None:
        """Fixes the library's log level: LOG_* or "none", "error", "warn",
        "info", "debug".  None goes back to following the logger's level."""
        if level is None:
            self._log_level_fixed = False
            self._sync_log_level()
            return
        if isinstance(level, str):
            if level.lower() not in _LEVEL_WORDS:
                # Let the library word the error like every other setting's.
                self._check(self._lib.retort_set(self._handle(), b"log_level",
                                                 _enc(level, "log_level")))
            level = _LEVEL_WORDS[level.lower()]
        self._check(self._lib.retort_set_log_level(self._handle(), int(level)))
        self._log_level_fixed = True

    # -- offline SQL

    def upgrade_sql(self, target: str = "head") -> str:
        """The SQL script that upgrade would run, as a string ("FROM:TO" or
        "TO" from base); never connects."""
        return self._out_string(self._lib.retort_upgrade_sql, _enc(target, "target"))

    def stamp_sql(self, target: str) -> str:
        """The SQL script of a stamp ("TO" or "FROM:TO"); never connects."""
        return self._out_string(self._lib.retort_stamp_sql, _enc(target, "target"))

    def downgrade_sql(self, target: str) -> str:
        """The SQL script of a downgrade "FROM:TO"; never connects."""
        return self._out_string(self._lib.retort_downgrade_sql, _enc(target, "target"))

    # -- test harness

    def schema_snapshot(self) -> str:
        """A canonical text description of the database's schema."""
        return self._out_string(self._lib.retort_schema_snapshot)

    def test_single_head(self) -> None:
        self._run(self._lib.retort_test_single_head)

    def test_upgrade(self) -> None:
        self._run(self._lib.retort_test_upgrade)

    def test_stairway(self) -> None:
        self._run(self._lib.retort_test_stairway)

    def test_stairway_partial(self) -> str:
        """The stairway up to the first irreversible revision: its id (where
        the stairway stopped), or "" when every revision was checked."""
        return self._out_string(self._lib.retort_test_stairway_partial)

    def test_downgrade(self) -> None:
        self._run(self._lib.retort_test_downgrade)

    # -- autogenerate

    def autogenerate(self, declared_sql: str) -> Tuple[str, str]:
        """The migration from the database's schema to the one declared_sql
        (DDL) declares: a tuple (up, down) of SQL scripts, both "" when
        nothing differs.  Read their "-- retort:destructive" and
        "-- retort:review" comments before applying them."""
        up, down = ctypes.c_char_p(), ctypes.c_char_p()
        self._run(self._lib.retort_autogenerate, _enc(declared_sql, "declared_sql"),
                  ctypes.byref(up), ctypes.byref(down))
        return _dec(up.value), _dec(down.value)

    def schema_diff(self, declared_sql: str) -> Optional[str]:
        """None when the database has the schema declared_sql declares,
        else the differing snapshot lines ("-" the database's, "+" the
        declared schema's) as one string."""
        out = ctypes.c_char_p()
        rc = self._lib.retort_schema_diff(self._handle(), _enc(declared_sql, "declared_sql"),
                                          ctypes.byref(out))
        if rc == EDRIFT:
            return _dec(out.value)
        self._check(rc)
        return None


def _words_s(text):
    return text.split()


def _describe(exc):
    """"ValueError: text" for the revision's error message."""
    try:
        text = str(exc)
    except BaseException:
        text = "(unprintable exception)"
    name = type(exc).__name__
    return "%s: %s" % (name, text) if text else name
