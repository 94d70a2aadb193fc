//! Safe Rust bindings to retort, versioned database schema migrations for
//! SQLite and PostgreSQL.
//!
//! ```no_run
//! use retort::{Migration, Retort};
//!
//! fn main() -> Result<(), retort::Error> {
//!     let mut r = Retort::new("sqlite:app.db")?;
//!     r.add_sql("0001_users", "", "users table",
//!               "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
//!               Some("DROP TABLE users"))?;
//!     r.add(Migration::new("0002_admin", |c| {
//!         c.exec_params("INSERT INTO users (name) VALUES ($1)", &[Some("admin")])?;
//!         Ok(())
//!     }).parents("0001_users").down(|c| {
//!         c.exec("DELETE FROM users WHERE name = 'admin'")?;
//!         Ok(())
//!     }))?;
//!     r.migrate_to_head()?;
//!     assert_eq!(r.current()?, vec!["0002_admin"]);
//!     Ok(())
//! }
//! ```
//!
//! How the C library's rules map to Rust:
//!
//! - A [`Retort`] owns one `retort *` and frees it when dropped.  It is
//!   `Send` but not `Sync`: the C library allows one thread at a time per
//!   context, and every method takes `&mut self`.
//! - Every fallible call returns [`Result`]; an [`Error`] carries the status
//!   code and the message `retort_errmsg()` gave, copied at once.
//! - Strings the C library returns "owned by the context until its next call"
//!   are copied into owned `String`s before the method returns, so nothing
//!   borrowed from the context outlives the call.
//! - Migrations can be closures: each is boxed and kept by the context until
//!   it is dropped (after `retort_free`), so the C library never sees a
//!   dangling pointer.  A closure that returns an error or panics fails its
//!   revision; a panic never unwinds into C.
//! - The raw declarations are in [`sys`] for what the wrapper does not cover.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod sys;

use std::any::Any;
use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

// ----------------------------------------------------------------- errors

/// The status codes of retort.h (`RETORT_E*`), for matching on an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `RETORT_ERROR`: failure without a more precise code.
    Error,
    /// `RETORT_EINVAL`: an argument is malformed.
    Invalid,
    /// `RETORT_ENOMEM`: out of memory.
    NoMemory,
    /// `RETORT_EEXIST`: a revision with that id is already registered.
    Exists,
    /// `RETORT_EGRAPH`: unknown parent, cycle.
    Graph,
    /// `RETORT_ETARGET`: target unknown, ambiguous, or several heads.
    Target,
    /// `RETORT_EURL`: malformed URL or unknown scheme.
    Url,
    /// `RETORT_ECONNECT`: could not connect to the database.
    Connect,
    /// `RETORT_EDB`: the database reported an error.
    Database,
    /// `RETORT_EMIGRATION`: a migration callback or its SQL failed.
    Migration,
    /// `RETORT_EIRREVERSIBLE`: the downgrade plan has an irreversible revision.
    Irreversible,
    /// `RETORT_EUNKNOWN`: the database holds a revision the registry does not know.
    Unknown,
    /// `RETORT_EDIRTY`: a non-transactional revision failed midway.
    Dirty,
    /// `RETORT_ECHECKSUM`: an applied SQL migration's text has changed.
    Checksum,
    /// `RETORT_ELOCK`: lock or busy timeout.
    Lock,
    /// `RETORT_EOFFLINE`: a callback needs the live connection in offline mode.
    Offline,
    /// `RETORT_EIO`: a file could not be read or written.
    Io,
    /// `RETORT_EPARSE`: a migration or configuration file is malformed.
    Parse,
    /// `RETORT_EMISUSE`: the call is not allowed here.
    Misuse,
    /// `RETORT_ENOTFOUND`: no such revision or object.
    NotFound,
    /// `RETORT_EPENDING`: revisions remain to be applied (`check`).
    Pending,
    /// `RETORT_EBACKEND`: backend registration rejected.
    Backend,
    /// `RETORT_ECHECKFAIL`: a `test_*` check found a defect in the migrations.
    CheckFailed,
    /// `RETORT_EDRIFT`: the database's schema differs from the declared one.
    Drift,
    /// A code this version of the crate does not know.
    Other(i32),
}

impl ErrorCode {
    /// The code for a raw status (`RETORT_E*`); `RETORT_OK` has none and
    /// maps to `Other(0)`.
    pub fn from_raw(code: i32) -> ErrorCode {
        use ErrorCode::*;
        match code {
            sys::RETORT_ERROR => Error,
            sys::RETORT_EINVAL => Invalid,
            sys::RETORT_ENOMEM => NoMemory,
            sys::RETORT_EEXIST => Exists,
            sys::RETORT_EGRAPH => Graph,
            sys::RETORT_ETARGET => Target,
            sys::RETORT_EURL => Url,
            sys::RETORT_ECONNECT => Connect,
            sys::RETORT_EDB => Database,
            sys::RETORT_EMIGRATION => Migration,
            sys::RETORT_EIRREVERSIBLE => Irreversible,
            sys::RETORT_EUNKNOWN => Unknown,
            sys::RETORT_EDIRTY => Dirty,
            sys::RETORT_ECHECKSUM => Checksum,
            sys::RETORT_ELOCK => Lock,
            sys::RETORT_EOFFLINE => Offline,
            sys::RETORT_EIO => Io,
            sys::RETORT_EPARSE => Parse,
            sys::RETORT_EMISUSE => Misuse,
            sys::RETORT_ENOTFOUND => NotFound,
            sys::RETORT_EPENDING => Pending,
            sys::RETORT_EBACKEND => Backend,
            sys::RETORT_ECHECKFAIL => CheckFailed,
            sys::RETORT_EDRIFT => Drift,
            other => Other(other),
        }
    }

    /// The raw status code (`RETORT_E*`).
    pub fn raw(self) -> i32 {
        use ErrorCode::*;
        match self {
            Error => sys::RETORT_ERROR,
            Invalid => sys::RETORT_EINVAL,
            NoMemory => sys::RETORT_ENOMEM,
            Exists => sys::RETORT_EEXIST,
            Graph => sys::RETORT_EGRAPH,
            Target => sys::RETORT_ETARGET,
            Url => sys::RETORT_EURL,
            Connect => sys::RETORT_ECONNECT,
            Database => sys::RETORT_EDB,
            Migration => sys::RETORT_EMIGRATION,
            Irreversible => sys::RETORT_EIRREVERSIBLE,
            Unknown => sys::RETORT_EUNKNOWN,
            Dirty => sys::RETORT_EDIRTY,
            Checksum => sys::RETORT_ECHECKSUM,
            Lock => sys::RETORT_ELOCK,
            Offline => sys::RETORT_EOFFLINE,
            Io => sys::RETORT_EIO,
            Parse => sys::RETORT_EPARSE,
            Misuse => sys::RETORT_EMISUSE,
            NotFound => sys::RETORT_ENOTFOUND,
            Pending => sys::RETORT_EPENDING,
            Backend => sys::RETORT_EBACKEND,
            CheckFailed => sys::RETORT_ECHECKFAIL,
            Drift => sys::RETORT_EDRIFT,
            Other(code) => code,
        }
    }
}

/// A failed call: the status code and the message retort gave for it
/// (naming the revision, target, file:line or setting at fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: i32,
    message: String,
}

impl Error {
    /// An error with a raw status code and a message, for migration
    /// closures that want to fail their revision with a specific text.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code: code.raw(), message: message.into() }
    }

    /// The status code, for matching.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from_raw(self.code)
    }

    /// The raw status code (`RETORT_E*`).
    pub fn raw_code(&self) -> i32 {
        self.code
    }

    /// The message (`retort_errmsg()` at the time of the failure).
    pub fn message(&self) -> &str {
        &self.message
    }

    fn nul(what: &str) -> Error {
        Error::new(ErrorCode::Invalid, format!("{} contains a NUL byte", what))
    }
}

impl fmt::Display for Error {
    /// The message alone, as retort wrote it (or the code's description when
    /// there is no message).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(strerror(self.code))
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with retort's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What a migration closure returns: any error fails the revision, with its
/// `Display` text as the revision's message.
pub type MigrationResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

// -------------------------------------------------------------- functions

/// The library's version string at run time ("0.1.0").
pub fn version() -> &'static str {
    // SAFETY: a static, NUL-terminated string, never NULL.
    unsafe { static_str(sys::retort_version()) }
}

/// The library's version number at run time (MAJOR * 10000 + MINOR * 100 + PATCH).
pub fn version_number() -> i32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::retort_version_number() }
}

/// A description of a status code ("unknown status" for codes the library
/// does not know).
pub fn strerror(code: i32) -> &'static str {
    // SAFETY: a static, NUL-terminated string, never NULL.
    unsafe { static_str(sys::retort_strerror(code)) }
}

/// # Safety
/// `s` is NULL or a NUL-terminated string that lives for the whole program.
unsafe fn static_str(s: *const c_char) -> &'static str {
    if s.is_null() {
        return "";
    }
    // SAFETY: per the caller. The library's static strings are ASCII.
    unsafe { CStr::from_ptr(s) }.to_str().unwrap_or("")
}

/// Copies a borrowed C string into an owned `String` (NULL is "").
///
/// # Safety
/// `s` is NULL or a NUL-terminated string valid for the duration of the call.
unsafe fn owned(s: *const c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    // SAFETY: per the caller.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

fn words(s: String) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn cstring(value: &str, what: &str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::nul(what))
}

fn opt_cstring(value: Option<&str>, what: &str) -> Result<Option<CString>> {
    value.map(|v| cstring(v, what)).transpose()
}

fn opt_ptr(value: &Option<CString>) -> *const c_char {
    value.as_ref().map_or(ptr::null(), |v| v.as_ptr())
}

/// A message for the C library: NUL bytes (which C cannot carry) become
/// spaces rather than losing the text.
fn c_message(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

// -------------------------------------------------------------- settings

/// Which way [`Retort::plan`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// `retort_set_transaction_mode()` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// Each revision in its own transaction with its version row (default).
    PerMigration,
    /// The whole plan in one transaction.
    WholeRun,
}

/// `retort_set_checksum_policy()` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Log a warning and go on (default).
    Warn,
    /// Refuse to run (`ErrorCode::Checksum`).
    Error,
    /// Do not compare.
    Ignore,
}

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// As a level to set: deliver nothing.
    None,
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    fn raw(self) -> c_int {
        match self {
            LogLevel::None => sys::RETORT_LOG_NONE,
            LogLevel::Error => sys::RETORT_LOG_ERROR,
            LogLevel::Warn => sys::RETORT_LOG_WARN,
            LogLevel::Info => sys::RETORT_LOG_INFO,
            LogLevel::Debug => sys::RETORT_LOG_DEBUG,
        }
    }

    fn from_raw(level: c_int) -> LogLevel {
        match level {
            sys::RETORT_LOG_ERROR => LogLevel::Error,
            sys::RETORT_LOG_WARN => LogLevel::Warn,
            sys::RETORT_LOG_INFO => LogLevel::Info,
            sys::RETORT_LOG_DEBUG => LogLevel::Debug,
            _ => LogLevel::None,
        }
    }
}

/// One registered revision, as [`Retort::revisions`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    /// `RETORT_REV_*` bits.
    pub flags: i32,
}

impl RevisionInfo {
    /// No down step.
    pub fn is_irreversible(&self) -> bool {
        self.flags & sys::RETORT_REV_IRREVERSIBLE != 0
    }
    /// Runs outside a transaction.
    pub fn is_transactional(&self) -> bool {
        self.flags & sys::RETORT_REV_NO_TRANSACTION == 0
    }
    /// Registered as SQL text (has a checksum).
    pub fn is_sql(&self) -> bool {
        self.flags & sys::RETORT_REV_SQL != 0
    }
    /// Recorded as applied, as of the last operation that read the database.
    pub fn is_applied(&self) -> bool {
        self.flags & sys::RETORT_REV_APPLIED != 0
    }
    /// Recorded as dirty, as of the last operation that read the database.
    pub fn is_dirty(&self) -> bool {
        self.flags & sys::RETORT_REV_DIRTY != 0
    }
}

// ------------------------------------------------------------- migrations

type Step = Box<dyn FnMut(&mut Conn<'_>) -> MigrationResult + Send>;

/// A revision implemented by Rust closures, for [`Retort::add`].
pub struct Migration {
    id: String,
    parents: String,
    message: String,
    up: Step,
    down: Option<Step>,
    transactional: bool,
}

impl Migration {
    /// A root revision `id` whose up step is `up`, irreversible until
    /// [`down`](Migration::down) gives it a down step.
    pub fn new<F>(id: &str, up: F) -> Migration
    where
        F: FnMut(&mut Conn<'_>) -> MigrationResult + Send + 'static,
    {
        Migration {
            id: id.to_owned(),
            parents: String::new(),
            message: String::new(),
            up: Box::new(up),
            down: None,
            transactional: true,
        }
    }

    /// Parent ids, separated by spaces and/or commas ("" for a root).
    pub fn parents(mut self, parents: &str) -> Migration {
        self.parents = parents.to_owned();
        self
    }

    /// Free text describing the revision.
    pub fn message(mut self, message: &str) -> Migration {
        self.message = message.to_owned();
        self
    }

    /// The down step, which makes the revision reversible.
    pub fn down<F>(mut self, down: F) -> Migration
    where
        F: FnMut(&mut Conn<'_>) -> MigrationResult + Send + 'static,
    {
        self.down = Some(Box::new(down));
        self
    }

    /// `false`: run outside any transaction, one statement at a time
    /// (`retort_revision_set_transactional`).
    pub fn transactional(mut self, on: bool) -> Migration {
        self.transactional = on;
        self
    }
}

/// The closures of one registered revision; `user` for both trampolines.
struct Steps {
    up: Step,
    down: Option<Step>,
}

fn run_step(conn: *mut sys::retort_conn, step: &mut Step) -> c_int {
    let mut c = Conn { raw: conn, _call: PhantomData };
    let outcome = catch_unwind(AssertUnwindSafe(|| step(&mut c)));
    let text = match outcome {
        Ok(Ok(())) => return 0,
        Ok(Err(e)) => e.to_string(),
        Err(payload) => format!("panicked: {}", panic_text(&*payload)),
    };
    let text = c_message(&text);
    // SAFETY: conn is the live connection of this call.
    unsafe { sys::retort_conn_set_error(conn, text.as_ptr()) };
    1
}

unsafe extern "C" fn up_trampoline(conn: *mut sys::retort_conn, user: *mut c_void) -> c_int {
    // SAFETY: user is the Steps registered with this trampoline, alive until
    // the context is freed; the context runs one callback at a time.
    let steps = unsafe { &mut *(user as *mut Steps) };
    run_step(conn, &mut steps.up)
}

unsafe extern "C" fn down_trampoline(conn: *mut sys::retort_conn, user: *mut c_void) -> c_int {
    // SAFETY: as in up_trampoline.
    let steps = unsafe { &mut *(user as *mut Steps) };
    match steps.down.as_mut() {
        Some(down) => run_step(conn, down),
        None => 1, // never registered without a down step
    }
}

type LogFn = Box<dyn FnMut(LogLevel, &str) + Send>;

unsafe extern "C" fn log_trampoline(level: c_int, message: *const c_char, user: *mut c_void) {
    // SAFETY: user is the LogFn registered with this trampoline, alive until
    // it is replaced or the context is freed; message is valid for the call.
    let log = unsafe { &mut *(user as *mut LogFn) };
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // A panicking logger must not unwind into C; the message is lost.
    let _ = catch_unwind(AssertUnwindSafe(|| log(LogLevel::from_raw(level), &text)));
}

/// The connection a migration closure works through, valid only during
/// the call (`retort_conn *`).
pub struct Conn<'a> {
    raw: *mut sys::retort_conn,
    _call: PhantomData<&'a mut sys::retort_conn>,
}

impl<'a> Conn<'a> {
    fn fail(&self, rc: c_int) -> Error {
        // SAFETY: raw is live for 'a; the message is copied at once.
        let message = unsafe { owned(sys::retort_conn_errmsg(self.raw)) };
        Error { code: rc, message }
    }

    /// Executes one or more SQL statements in the migration's transaction
    /// (offline: appends them to the script).  The error carries the
    /// database's message, which the revision reports if the closure returns it.
    pub fn exec(&mut self, sql: &str) -> Result<()> {
        let sql = cstring(sql, "the SQL text")?;
        // SAFETY: raw is live for 'a, sql outlives the call.
        let rc = unsafe { sys::retort_exec(self.raw, sql.as_ptr()) };
        if rc == sys::RETORT_OK {
            Ok(())
        } else {
            Err(self.fail(rc))
        }
    }

    /// Executes one statement with text parameters `$1`, `$2`, ... (`None`
    /// binds SQL NULL); values never become part of the SQL text.
    pub fn exec_params(&mut self, sql: &str, params: &[Option<&str>]) -> Result<()> {
        let sql = cstring(sql, "the SQL text")?;
        let values = params
            .iter()
            .enumerate()
            .map(|(i, p)| opt_cstring(*p, &format!("parameter ${}", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<*const c_char> = values.iter().map(opt_ptr).collect();
        let n = c_int::try_from(ptrs.len())
            .map_err(|_| Error::new(ErrorCode::Invalid, "too many parameters"))?;
        // SAFETY: raw is live for 'a; sql, values and ptrs outlive the call.
        let rc = unsafe { sys::retort_exec_params(self.raw, sql.as_ptr(), n, ptrs.as_ptr()) };
        if rc == sys::RETORT_OK {
            Ok(())
        } else {
            Err(self.fail(rc))
        }
    }

    /// The driver's native handle (`sqlite3 *`, `PGconn *`), or NULL offline.
    /// Using it is up to the caller; it is valid only during this call.
    pub fn native(&mut self) -> *mut c_void {
        // SAFETY: raw is live for 'a.
        unsafe { sys::retort_native(self.raw) }
    }

    /// The backend's name ("sqlite", "postgresql").
    pub fn backend(&self) -> &'static str {
        // SAFETY: raw is live; the name is static.
        unsafe { static_str(sys::retort_conn_backend(self.raw)) }
    }

    /// True when the closure runs offline (rendering a script).
    pub fn is_offline(&self) -> bool {
        // SAFETY: raw is live for 'a.
        unsafe { sys::retort_conn_is_offline(self.raw) != 0 }
    }

    /// The database's message for the last failed `exec` on this connection,
    /// or "" if none failed.
    pub fn errmsg(&self) -> String {
        // SAFETY: raw is live for 'a; copied at once.
        unsafe { owned(sys::retort_conn_errmsg(self.raw)) }
    }

    /// The raw handle, for the functions in [`sys`].
    pub fn as_ptr(&mut self) -> *mut sys::retort_conn {
        self.raw
    }
}

// ---------------------------------------------------------------- context

/// One migration context: registry, settings, connection (`retort *`).
/// Dropping it closes the connection and frees the closures it holds.
pub struct Retort {
    raw: *mut sys::retort,
    /// Closures given to the C library as `user`; freed after `retort_free`.
    steps: Vec<*mut Steps>,
    log: Option<*mut LogFn>,
    /// Not Sync: one thread at a time per context (retort.h, "Threads").
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: a context may move between threads as long as one thread uses it
// at a time (retort.h); the closures it holds are Send, and `&mut self` on
// every call keeps two threads from sharing it.
unsafe impl Send for Retort {}

impl Retort {
    /// A context for the database at `url` ("sqlite:PATH",
    /// "postgresql://...", "postgresql:key=value ...").  Does not connect:
    /// the first operation does.
    pub fn new(url: &str) -> Result<Retort> {
        let url = cstring(url, "the URL")?;
        // SAFETY: out is a valid location, url outlives the call.
        Retort::open(|out| unsafe { sys::retort_new(out, url.as_ptr()) })
    }

    /// A context for `RETORT_DATABASE_URL`, or "sqlite:retort.db" when it
    /// is unset.
    pub fn from_env() -> Result<Retort> {
        // SAFETY: out is a valid location; NULL url is allowed.
        Retort::open(|out| unsafe { sys::retort_new(out, ptr::null()) })
    }

    /// A context on a fresh, empty, isolated target derived from `url`, for
    /// one test; dropping it tears the target down (SQLite: a private
    /// in-memory database, or a temporary file in DIR for "sqlite:DIR/";
    /// PostgreSQL: a uniquely named schema).  Connects immediately.
    pub fn new_fresh(url: &str) -> Result<Retort> {
        let url = cstring(url, "the URL")?;
        // SAFETY: out is a valid location, url outlives the call.
        Retort::open(|out| unsafe { sys::retort_new_fresh(out, url.as_ptr()) })
    }

    fn open(create: impl FnOnce(*mut *mut sys::retort) -> c_int) -> Result<Retort> {
        let mut raw: *mut sys::retort = ptr::null_mut();
        let rc = create(&mut raw);
        if raw.is_null() {
            return Err(Error::new(ErrorCode::NoMemory, "out of memory"));
        }
        let r = Retort { raw, steps: Vec::new(), log: None, _not_sync: PhantomData };
        if rc != sys::RETORT_OK {
            return Err(r.fail(rc)); // r is dropped: retort_free in every case
        }
        Ok(r)
    }

    /// The raw handle, for the functions in [`sys`].  It stays owned by
    /// this `Retort`; do not free it.
    pub fn as_ptr(&mut self) -> *mut sys::retort {
        self.raw
    }

    fn fail(&self, rc: c_int) -> Error {
        // SAFETY: raw is live; the message is copied before any other call.
        let message = unsafe { owned(sys::retort_errmsg(self.raw)) };
        Error { code: rc, message }
    }

    fn status(&self, rc: c_int) -> Result<()> {
        if rc == sys::RETORT_OK {
            Ok(())
        } else {
            Err(self.fail(rc))
        }
    }

    /// Runs a call that returns one string owned by the context until its
    /// next call, and copies that string.
    fn string_out(&mut self, call: impl FnOnce(*mut sys::retort, *mut *const c_char) -> c_int)
        -> Result<String> {
        let mut out: *const c_char = ptr::null();
        let rc = call(self.raw, &mut out);
        self.status(rc)?;
        // SAFETY: out is owned by the context and valid until its next call,
        // which cannot happen before this copy (&mut self).
        Ok(unsafe { owned(out) })
    }

    // ------------------------------------------------------ registration

    /// Registers a revision implemented by closures.  The closures are kept
    /// until the context is dropped.
    pub fn add(&mut self, migration: Migration) -> Result<()> {
        let id = cstring(&migration.id, "the revision id")?;
        let parents = cstring(&migration.parents, "the parents list")?;
        let message = cstring(&migration.message, "the message")?;
        let down: Option<sys::retort_fn> =
            if migration.down.is_some() { Some(down_trampoline) } else { None };
        let steps = Box::into_raw(Box::new(Steps { up: migration.up, down: migration.down }));
        // SAFETY: raw is live; steps stays valid until Drop, after retort_free.
        let rc = unsafe {
            sys::retort_add(self.raw, id.as_ptr(), parents.as_ptr(), message.as_ptr(),
                            Some(up_trampoline), down, steps as *mut c_void)
        };
        if rc != sys::RETORT_OK {
            // Nothing was registered: the closures are ours again.
            // SAFETY: steps came from Box::into_raw above and is not shared.
            drop(unsafe { Box::from_raw(steps) });
            return Err(self.fail(rc));
        }
        self.steps.push(steps);
        if !migration.transactional {
            self.set_transactional(&migration.id, false)?;
        }
        Ok(())
    }

    /// Registers a revision implemented by SQL text; `down_sql` `None`
    /// makes it irreversible.
    pub fn add_sql(&mut self, id: &str, parents: &str, message: &str, up_sql: &str,
                   down_sql: Option<&str>) -> Result<()> {
        let id = cstring(id, "the revision id")?;
        let parents = cstring(parents, "the parents list")?;
        let message = cstring(message, "the message")?;
        let up = cstring(up_sql, "the up SQL")?;
        let down = opt_cstring(down_sql, "the down SQL")?;
        // SAFETY: raw is live; every string outlives the call.
        let rc = unsafe {
            sys::retort_add_sql(self.raw, id.as_ptr(), parents.as_ptr(), message.as_ptr(),
                                up.as_ptr(), opt_ptr(&down))
        };
        self.status(rc)
    }

    /// Marks a registered revision as transactional (the default) or not.
    pub fn set_transactional(&mut self, id: &str, on: bool) -> Result<()> {
        let id = cstring(id, "the revision id")?;
        // SAFETY: raw is live; id outlives the call.
        let rc = unsafe { sys::retort_revision_set_transactional(self.raw, id.as_ptr(), on as c_int) };
        self.status(rc)
    }

    /// Registers every migration in directory `path` (all or nothing).
    pub fn load_dir(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path_cstring(path.as_ref())?;
        // SAFETY: raw is live; path outlives the call.
        let rc = unsafe { sys::retort_load_dir(self.raw, path.as_ptr()) };
        self.status(rc)
    }

    /// Registers the migrations of several directories as one registry
    /// (Alembic's version_locations): parents may be in any of them; an id
    /// in two of them is an error naming both files.
    pub fn load_dirs<P: AsRef<Path>>(&mut self, paths: &[P]) -> Result<()> {
        let owned = paths.iter().map(|p| path_cstring(p.as_ref())).collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<*const c_char> = owned.iter().map(|p| p.as_ptr()).collect();
        let n = c_int::try_from(ptrs.len())
            .map_err(|_| Error::new(ErrorCode::Invalid, "too many directories"))?;
        // SAFETY: raw is live; the strings and the array outlive the call.
        let rc = unsafe { sys::retort_load_dirs(self.raw, ptrs.as_ptr(), n) };
        self.status(rc)
    }

    // -------------------------------------------------------- operations

    /// Applies everything up to the single head.
    pub fn migrate_to_head(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_migrate_to_head(self.raw) };
        self.status(rc)
    }

    /// Applies every unapplied ancestor of `target` ("head", "heads", an id,
    /// "+N") and `target` itself.
    pub fn upgrade(&mut self, target: &str) -> Result<()> {
        let target = cstring(target, "the target")?;
        // SAFETY: raw is live; target outlives the call.
        let rc = unsafe { sys::retort_upgrade(self.raw, target.as_ptr()) };
        self.status(rc)
    }

    /// Reverts every applied descendant of `target` ("base", an id, "-N"),
    /// leaving `target` applied.
    pub fn downgrade(&mut self, target: &str) -> Result<()> {
        let target = cstring(target, "the target")?;
        // SAFETY: raw is live; target outlives the call.
        let rc = unsafe { sys::retort_downgrade(self.raw, target.as_ptr()) };
        self.status(rc)
    }

    /// The applied heads, sorted (empty at base).
    pub fn current(&mut self) -> Result<Vec<String>> {
        // SAFETY: raw is live, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_current(r, out) }).map(words)
    }

    /// The heads of the registered graph, sorted.  Does not touch the database.
    pub fn heads(&mut self) -> Result<Vec<String>> {
        // SAFETY: raw is live, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_heads(r, out) }).map(words)
    }

    /// Every revision recorded in the version table, in the order applied.
    pub fn applied(&mut self) -> Result<Vec<String>> {
        // SAFETY: raw is live, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_applied(r, out) }).map(words)
    }

    /// The ids an upgrade or downgrade to `target` would run now, in order.
    pub fn plan(&mut self, direction: Direction, target: &str) -> Result<Vec<String>> {
        let target = cstring(target, "the target")?;
        let dir = match direction {
            Direction::Upgrade => 1,
            Direction::Downgrade => -1,
        };
        // SAFETY: raw is live, target outlives the call, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_plan(r, dir, target.as_ptr(), out) })
            .map(words)
    }

    /// `Ok` when every head is applied and no applied SQL text changed;
    /// `ErrorCode::Pending` (listing them) when revisions remain.
    pub fn check(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_check(self.raw) };
        self.status(rc)
    }

    /// Sets the recorded state to `target` without running any migration.
    pub fn stamp(&mut self, target: &str) -> Result<()> {
        let target = cstring(target, "the target")?;
        // SAFETY: raw is live; target outlives the call.
        let rc = unsafe { sys::retort_stamp(self.raw, target.as_ptr()) };
        self.status(rc)
    }

    /// Records `id` as applied (resolving a dirty database by hand).
    pub fn mark_applied(&mut self, id: &str) -> Result<()> {
        let id = cstring(id, "the revision id")?;
        // SAFETY: raw is live; id outlives the call.
        let rc = unsafe { sys::retort_mark_applied(self.raw, id.as_ptr()) };
        self.status(rc)
    }

    /// Removes `id`'s version row (resolving a dirty database by hand).
    pub fn mark_reverted(&mut self, id: &str) -> Result<()> {
        let id = cstring(id, "the revision id")?;
        // SAFETY: raw is live; id outlives the call.
        let rc = unsafe { sys::retort_mark_reverted(self.raw, id.as_ptr()) };
        self.status(rc)
    }

    // ----------------------------------------------------- introspection

    /// Number of registered revisions.
    pub fn revision_count(&mut self) -> Result<usize> {
        let mut n: c_int = 0;
        // SAFETY: raw is live, n a valid location.
        let rc = unsafe { sys::retort_revision_count(self.raw, &mut n) };
        self.status(rc)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Every registered revision in plan order (parents first).
    pub fn revisions(&mut self) -> Result<Vec<RevisionInfo>> {
        let n = self.revision_count()?;
        let mut all = Vec::with_capacity(n);
        for i in 0..n {
            let (mut id, mut parents, mut message) = (ptr::null(), ptr::null(), ptr::null());
            let mut flags: c_int = 0;
            // SAFETY: raw is live; every out pointer is a valid location.
            let rc = unsafe {
                sys::retort_revision_info(self.raw, i as c_int, &mut id, &mut parents,
                                          &mut message, &mut flags)
            };
            self.status(rc)?;
            // SAFETY: owned by the context while the registry is unchanged;
            // copied at once.
            let (id, parents, message) = unsafe { (owned(id), owned(parents), owned(message)) };
            all.push(RevisionInfo { id, parents: words(parents), message, flags });
        }
        Ok(all)
    }

    // ---------------------------------------------------------- settings

    /// Any setting by name from text ("version_table", "schema",
    /// "lock_timeout", "transaction_mode", "checksum_policy",
    /// "tolerate_unknown", "log_level").
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let name = cstring(name, "the setting name")?;
        let value = cstring(value, "the setting value")?;
        // SAFETY: raw is live; both strings outlive the call.
        let rc = unsafe { sys::retort_set(self.raw, name.as_ptr(), value.as_ptr()) };
        self.status(rc)
    }

    /// The version table's name (before the first operation).
    pub fn set_version_table(&mut self, name: &str) -> Result<()> {
        let name = cstring(name, "the version table name")?;
        // SAFETY: raw is live; name outlives the call.
        let rc = unsafe { sys::retort_set_version_table(self.raw, name.as_ptr()) };
        self.status(rc)
    }

    /// The schema holding the version table (PostgreSQL); `None` restores
    /// the default.
    pub fn set_schema(&mut self, schema: Option<&str>) -> Result<()> {
        let schema = opt_cstring(schema, "the schema name")?;
        // SAFETY: raw is live; schema outlives the call.
        let rc = unsafe { sys::retort_set_schema(self.raw, opt_ptr(&schema)) };
        self.status(rc)
    }

    /// How long to wait for the migration lock or a busy database.
    pub fn set_lock_timeout(&mut self, timeout: std::time::Duration) -> Result<()> {
        let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_lock_timeout(self.raw, ms) };
        self.status(rc)
    }

    pub fn set_transaction_mode(&mut self, mode: TransactionMode) -> Result<()> {
        let mode = match mode {
            TransactionMode::PerMigration => sys::RETORT_TX_PER_MIGRATION,
            TransactionMode::WholeRun => sys::RETORT_TX_WHOLE_RUN,
        };
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_transaction_mode(self.raw, mode) };
        self.status(rc)
    }

    pub fn set_checksum_policy(&mut self, policy: ChecksumPolicy) -> Result<()> {
        let policy = match policy {
            ChecksumPolicy::Warn => sys::RETORT_CHECKSUM_WARN,
            ChecksumPolicy::Error => sys::RETORT_CHECKSUM_ERROR,
            ChecksumPolicy::Ignore => sys::RETORT_CHECKSUM_IGNORE,
        };
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_checksum_policy(self.raw, policy) };
        self.status(rc)
    }

    /// Tolerate revisions in the database that the registry does not know.
    pub fn set_tolerate_unknown(&mut self, on: bool) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_tolerate_unknown(self.raw, on as c_int) };
        self.status(rc)
    }

    /// Messages above this level are dropped (default `Warn`).
    pub fn set_log_level(&mut self, level: LogLevel) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_log_level(self.raw, level.raw()) };
        self.status(rc)
    }

    /// Routes log messages to `log` instead of standard error.  The closure
    /// is kept until it is replaced or the context is dropped; a panic in it
    /// is caught (the message is lost).
    pub fn set_log<F>(&mut self, log: F) -> Result<()>
    where
        F: FnMut(LogLevel, &str) + Send + 'static,
    {
        let boxed: *mut LogFn = Box::into_raw(Box::new(Box::new(log) as LogFn));
        // SAFETY: raw is live; boxed stays valid until replaced or Drop.
        let rc = unsafe { sys::retort_set_log(self.raw, Some(log_trampoline), boxed as *mut c_void) };
        if rc != sys::RETORT_OK {
            // SAFETY: not registered; ours alone.
            drop(unsafe { Box::from_raw(boxed) });
            return Err(self.fail(rc));
        }
        self.replace_log(Some(boxed));
        Ok(())
    }

    /// Restores the default logger (standard error).
    pub fn reset_log(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_set_log(self.raw, None, ptr::null_mut()) };
        self.status(rc)?;
        self.replace_log(None);
        Ok(())
    }

    fn replace_log(&mut self, new: Option<*mut LogFn>) {
        if let Some(old) = std::mem::replace(&mut self.log, new) {
            // SAFETY: the C library no longer refers to old.
            drop(unsafe { Box::from_raw(old) });
        }
    }

    // ------------------------------------------------------- offline SQL

    /// The SQL script an upgrade to `target` ("FROM:TO" or "TO") would run,
    /// without connecting.
    pub fn upgrade_sql(&mut self, target: &str) -> Result<String> {
        let target = cstring(target, "the target")?;
        // SAFETY: raw is live, target outlives the call, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_upgrade_sql(r, target.as_ptr(), out) })
    }

    /// The SQL script a downgrade ("FROM:TO") would run, without connecting.
    pub fn downgrade_sql(&mut self, target: &str) -> Result<String> {
        let target = cstring(target, "the target")?;
        // SAFETY: raw is live, target outlives the call, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_downgrade_sql(r, target.as_ptr(), out) })
    }

    // ------------------------------------------------------ test harness

    /// A canonical description of the database's schema (version table
    /// excluded): equal schemas give equal text.
    pub fn schema_snapshot(&mut self) -> Result<String> {
        // SAFETY: raw is live, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_schema_snapshot(r, out) })
    }

    /// The graph has exactly one head (`ErrorCode::CheckFailed` otherwise).
    pub fn test_single_head(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_test_single_head(self.raw) };
        self.status(rc)
    }

    /// Upgrading an empty target to head succeeds.
    pub fn test_upgrade(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_test_upgrade(self.raw) };
        self.status(rc)
    }

    /// Each revision's down step undoes its up step exactly.
    pub fn test_stairway(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_test_stairway(self.raw) };
        self.status(rc)
    }

    /// The stairway up to the first irreversible revision: its id (where
    /// the stairway stopped), or "" when every revision was checked.
    pub fn test_stairway_partial(&mut self) -> Result<String> {
        // SAFETY: raw is live, out a valid location.
        self.string_out(|r, out| unsafe { sys::retort_test_stairway_partial(r, out) })
    }

    /// Downgrading from head to base leaves the empty schema.
    pub fn test_downgrade(&mut self) -> Result<()> {
        // SAFETY: raw is live.
        let rc = unsafe { sys::retort_test_downgrade(self.raw) };
        self.status(rc)
    }

    // ------------------------------------------------------ autogenerate

    /// The (up, down) SQL that takes the database to the schema
    /// `declared_sql` creates, and back; both "" when nothing differs.
    pub fn autogenerate(&mut self, declared_sql: &str) -> Result<(String, String)> {
        let declared = cstring(declared_sql, "the declared SQL")?;
        let (mut up, mut down) = (ptr::null(), ptr::null());
        // SAFETY: raw is live, declared outlives the call, outs are valid.
        let rc = unsafe { sys::retort_autogenerate(self.raw, declared.as_ptr(), &mut up, &mut down) };
        self.status(rc)?;
        // SAFETY: owned by the context until its next call; copied at once.
        Ok(unsafe { (owned(up), owned(down)) })
    }

    /// `None` when the database's schema is the declared one, otherwise the
    /// differing snapshot lines ("-" database, "+" declared).
    pub fn schema_diff(&mut self, declared_sql: &str) -> Result<Option<String>> {
        let declared = cstring(declared_sql, "the declared SQL")?;
        let mut diff = ptr::null();
        // SAFETY: raw is live, declared outlives the call, diff is valid.
        let rc = unsafe { sys::retort_schema_diff(self.raw, declared.as_ptr(), &mut diff) };
        match rc {
            sys::RETORT_OK => Ok(None),
            // SAFETY: owned by the context until its next call; copied at once.
            sys::RETORT_EDRIFT => Ok(Some(unsafe { owned(diff) })),
            _ => Err(self.fail(rc)),
        }
    }
}

impl Drop for Retort {
    fn drop(&mut self) {
        // SAFETY: raw came from retort_new*, is freed once, and nothing runs
        // a callback concurrently (&mut self).  The closures are freed after
        // it, since retort_free may still log.
        unsafe { sys::retort_free(self.raw) };
        for steps in self.steps.drain(..) {
            // SAFETY: each came from Box::into_raw in add() and is no longer
            // referenced by the (freed) context.
            drop(unsafe { Box::from_raw(steps) });
        }
        self.replace_log(None);
    }
}

impl fmt::Debug for Retort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retort").field("revisions", &self.steps.len()).finish_non_exhaustive()
    }
}

/// The README's examples, compiled by `cargo test` so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(unix)]
fn path_cstring(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::nul("the path"))
}

#[cfg(not(unix))]
fn path_cstring(path: &Path) -> Result<CString> {
    let s = path
        .to_str()
        .ok_or_else(|| Error::new(ErrorCode::Invalid, "the path is not valid UTF-8"))?;
    cstring(s, "the path")
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn error_code_round_trips_every_known_status() {
        for code in 1..=24 {
            let e = ErrorCode::from_raw(code);
            assert!(!matches!(e, ErrorCode::Other(_)), "code {} has no variant", code);
            assert_eq!(e.raw(), code);
        }
        assert_eq!(ErrorCode::from_raw(99), ErrorCode::Other(99));
    }

    #[test]
    fn header_version_matches_the_library() {
        assert_eq!(version(), sys::RETORT_VERSION_STRING);
        assert_eq!(version_number(), sys::RETORT_VERSION_NUMBER);
    }

    /// Compiles only while `Retort` is Send and not Sync (the header's
    /// thread rules): with Sync, the `AmbiguousIfSync` call below would have
    /// two candidate impls and fail to compile.
    #[test]
    fn context_is_send_but_not_sync() {
        fn assert_send<T: Send>() {}
        assert_send::<Retort>();
        trait AmbiguousIfSync<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfSync<()> for T {}
        impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
        <Retort as AmbiguousIfSync<_>>::some_item();
    }

    #[test]
    fn strerror_describes_codes() {
        assert!(!strerror(sys::RETORT_EMIGRATION).is_empty());
        assert_ne!(strerror(sys::RETORT_EMIGRATION), strerror(sys::RETORT_EDB));
    }
}
