//! Raw declarations of retort's C API (`include/retort/retort.h`), written by
//! hand: the header has no variadic functions, no structs by value and no
//! `FILE *`, so every function maps one to one.  Everything here is
//! `unsafe` to call and follows the header's rules (strings returned are
//! owned by the context until its next call; a context is used by one
//! thread at a time).  The safe wrapper in the crate root is built on these.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_long, c_void};

// ------------------------------------------------------------- versions

pub const RETORT_VERSION_MAJOR: c_int = 0;
pub const RETORT_VERSION_MINOR: c_int = 1;
pub const RETORT_VERSION_PATCH: c_int = 0;
/// MAJOR * 10000 + MINOR * 100 + PATCH of the header these declarations
/// were written from; compare with `retort_version_number()`.
pub const RETORT_VERSION_NUMBER: c_int =
    RETORT_VERSION_MAJOR * 10000 + RETORT_VERSION_MINOR * 100 + RETORT_VERSION_PATCH;
pub const RETORT_VERSION_STRING: &str = "0.1.0";

// --------------------------------------------------------- status codes

pub const RETORT_OK: c_int = 0;
pub const RETORT_ERROR: c_int = 1;
pub const RETORT_EINVAL: c_int = 2;
pub const RETORT_ENOMEM: c_int = 3;
pub const RETORT_EEXIST: c_int = 4;
pub const RETORT_EGRAPH: c_int = 5;
pub const RETORT_ETARGET: c_int = 6;
pub const RETORT_EURL: c_int = 7;
pub const RETORT_ECONNECT: c_int = 8;
pub const RETORT_EDB: c_int = 9;
pub const RETORT_EMIGRATION: c_int = 10;
pub const RETORT_EIRREVERSIBLE: c_int = 11;
pub const RETORT_EUNKNOWN: c_int = 12;
pub const RETORT_EDIRTY: c_int = 13;
pub const RETORT_ECHECKSUM: c_int = 14;
pub const RETORT_ELOCK: c_int = 15;
pub const RETORT_EOFFLINE: c_int = 16;
pub const RETORT_EIO: c_int = 17;
pub const RETORT_EPARSE: c_int = 18;
pub const RETORT_EMISUSE: c_int = 19;
pub const RETORT_ENOTFOUND: c_int = 20;
pub const RETORT_EPENDING: c_int = 21;
pub const RETORT_EBACKEND: c_int = 22;
pub const RETORT_ECHECKFAIL: c_int = 23;
pub const RETORT_EDRIFT: c_int = 24;

// ------------------------------------------------------- revision flags

pub const RETORT_REV_IRREVERSIBLE: c_int = 1;
pub const RETORT_REV_NO_TRANSACTION: c_int = 2;
pub const RETORT_REV_SQL: c_int = 4;
pub const RETORT_REV_APPLIED: c_int = 8;
pub const RETORT_REV_DIRTY: c_int = 16;

// ------------------------------------------------- version-table row flags

pub const RETORT_ROW_UNKNOWN: c_int = 1;
pub const RETORT_ROW_EDITED: c_int = 2;
pub const RETORT_ROW_CHECKSUM_OK: c_int = 4;

// ------------------------------------------------------------- settings

pub const RETORT_TX_PER_MIGRATION: c_int = 0;
pub const RETORT_TX_WHOLE_RUN: c_int = 1;

pub const RETORT_CHECKSUM_WARN: c_int = 0;
pub const RETORT_CHECKSUM_ERROR: c_int = 1;
pub const RETORT_CHECKSUM_IGNORE: c_int = 2;

pub const RETORT_LOG_NONE: c_int = 0;
pub const RETORT_LOG_ERROR: c_int = 1;
pub const RETORT_LOG_WARN: c_int = 2;
pub const RETORT_LOG_INFO: c_int = 3;
pub const RETORT_LOG_DEBUG: c_int = 4;

pub const RETORT_EVENT_BEFORE: c_int = 1;
pub const RETORT_EVENT_AFTER: c_int = 2;

// -------------------------------------------------------------- handles

/// One migration context (`retort *`): registry, settings, connection.
#[repr(C)]
pub struct retort {
    _private: [u8; 0],
}

/// What a migration callback works through (`retort_conn *`).
#[repr(C)]
pub struct retort_conn {
    _private: [u8; 0],
}

/// A migration step: 0 for success, anything else fails the revision.
pub type retort_fn = unsafe extern "C" fn(conn: *mut retort_conn, user: *mut c_void) -> c_int;
/// Receives each formatted log message (valid only during the call).
pub type retort_log_fn = unsafe extern "C" fn(level: c_int, message: *const c_char, user: *mut c_void);
/// Receives each step's before- and after-event (strings valid only during the call).
pub type retort_event_fn = unsafe extern "C" fn(
    phase: c_int,
    direction: c_int,
    index: c_int,
    total: c_int,
    id: *const c_char,
    message: *const c_char,
    status: c_int,
    duration_ms: c_long,
    user: *mut c_void,
);
pub type retort_malloc_fn = unsafe extern "C" fn(size: usize) -> *mut c_void;
pub type retort_realloc_fn = unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void;
pub type retort_free_fn = unsafe extern "C" fn(ptr: *mut c_void);
/// One version-table row (retort_versions); strings valid during the call.
pub type retort_version_fn = unsafe extern "C" fn(id: *const c_char, parents: *const c_char,
                                                  message: *const c_char, state: *const c_char,
                                                  applied_at: *const c_char, duration_ms: c_long,
                                                  flags: c_int, user: *mut c_void);
/// One audit-log entry (retort_audit_log); strings valid during the call.
pub type retort_audit_fn = unsafe extern "C" fn(seq: c_long, revision: *const c_char,
                                                direction: *const c_char,
                                                started_at: *const c_char,
                                                finished_at: *const c_char,
                                                outcome: *const c_char, error: *const c_char,
                                                statements_done: c_int, user: *mut c_void);

extern "C" {
    // versions and status
    pub fn retort_version() -> *const c_char;
    pub fn retort_version_number() -> c_int;
    pub fn retort_strerror(code: c_int) -> *const c_char;

    // context lifecycle
    pub fn retort_new(out: *mut *mut retort, url: *const c_char) -> c_int;
    pub fn retort_free(r: *mut retort);
    pub fn retort_errmsg(r: *const retort) -> *const c_char;
    pub fn retort_errcode(r: *const retort) -> c_int;

    // registration
    pub fn retort_add(
        r: *mut retort,
        id: *const c_char,
        parents: *const c_char,
        message: *const c_char,
        up: Option<retort_fn>,
        down: Option<retort_fn>,
        user: *mut c_void,
    ) -> c_int;
    pub fn retort_add_sql(
        r: *mut retort,
        id: *const c_char,
        parents: *const c_char,
        message: *const c_char,
        up_sql: *const c_char,
        down_sql: *const c_char,
    ) -> c_int;
    pub fn retort_revision_set_transactional(r: *mut retort, id: *const c_char, on: c_int) -> c_int;
    pub fn retort_revision_set_branch_labels(r: *mut retort, id: *const c_char,
                                             labels: *const c_char) -> c_int;
    pub fn retort_revision_set_depends_on(r: *mut retort, id: *const c_char,
                                          depends_on: *const c_char) -> c_int;
    pub fn retort_load_dir(r: *mut retort, path: *const c_char) -> c_int;
    pub fn retort_load_dirs(r: *mut retort, paths: *const *const c_char, npaths: c_int)
                            -> c_int;

    // operations
    pub fn retort_migrate_to_head(r: *mut retort) -> c_int;
    pub fn retort_upgrade(r: *mut retort, target: *const c_char) -> c_int;
    pub fn retort_downgrade(r: *mut retort, target: *const c_char) -> c_int;
    pub fn retort_current(r: *mut retort, heads: *mut *const c_char) -> c_int;
    pub fn retort_adopt(r: *mut retort, tool: *const c_char) -> c_int;
    pub fn retort_stamp(r: *mut retort, target: *const c_char) -> c_int;
    pub fn retort_stamp_purge(r: *mut retort, target: *const c_char) -> c_int;
    pub fn retort_stamp_sql(r: *mut retort, target: *const c_char,
                            script: *mut *const c_char) -> c_int;
    pub fn retort_repeatables(r: *mut retort, list: *mut *const c_char) -> c_int;
    pub fn retort_check(r: *mut retort) -> c_int;
    pub fn retort_plan(r: *mut retort, direction: c_int, target: *const c_char,
                       ids: *mut *const c_char) -> c_int;
    pub fn retort_mark_applied(r: *mut retort, id: *const c_char) -> c_int;
    pub fn retort_mark_reverted(r: *mut retort, id: *const c_char) -> c_int;

    // introspection
    pub fn retort_heads(r: *mut retort, heads: *mut *const c_char) -> c_int;
    pub fn retort_revision_count(r: *mut retort, count: *mut c_int) -> c_int;
    pub fn retort_revision_info(
        r: *mut retort,
        index: c_int,
        id: *mut *const c_char,
        parents: *mut *const c_char,
        message: *mut *const c_char,
        flags: *mut c_int,
    ) -> c_int;
    pub fn retort_revision_links(
        r: *mut retort,
        index: c_int,
        branch_labels: *mut *const c_char,
        depends_on: *mut *const c_char,
    ) -> c_int;
    pub fn retort_applied(r: *mut retort, ids: *mut *const c_char) -> c_int;
    pub fn retort_repair(r: *mut retort, id: *const c_char) -> c_int;
    pub fn retort_versions(r: *mut retort, func: Option<retort_version_fn>, user: *mut c_void)
                           -> c_int;
    pub fn retort_audit_log(r: *mut retort, func: Option<retort_audit_fn>, user: *mut c_void)
                            -> c_int;

    // settings
    pub fn retort_set_version_table(r: *mut retort, name: *const c_char) -> c_int;
    pub fn retort_set_schema(r: *mut retort, schema: *const c_char) -> c_int;
    pub fn retort_set_lock_timeout(r: *mut retort, milliseconds: c_int) -> c_int;
    pub fn retort_set_transaction_mode(r: *mut retort, mode: c_int) -> c_int;
    pub fn retort_set_checksum_policy(r: *mut retort, policy: c_int) -> c_int;
    pub fn retort_set_tolerate_unknown(r: *mut retort, on: c_int) -> c_int;
    pub fn retort_set(r: *mut retort, name: *const c_char, value: *const c_char) -> c_int;

    // logging
    pub fn retort_set_log(r: *mut retort, func: Option<retort_log_fn>, user: *mut c_void) -> c_int;
    pub fn retort_set_event_fn(r: *mut retort, func: Option<retort_event_fn>, user: *mut c_void)
        -> c_int;
    pub fn retort_set_log_level(r: *mut retort, level: c_int) -> c_int;

    // offline SQL
    pub fn retort_upgrade_sql(r: *mut retort, target: *const c_char,
                              script: *mut *const c_char) -> c_int;
    pub fn retort_downgrade_sql(r: *mut retort, target: *const c_char,
                                script: *mut *const c_char) -> c_int;

    // inside a callback
    pub fn retort_exec(conn: *mut retort_conn, sql: *const c_char) -> c_int;
    pub fn retort_exec_params(conn: *mut retort_conn, sql: *const c_char, nparams: c_int,
                              params: *const *const c_char) -> c_int;
    pub fn retort_native(conn: *mut retort_conn) -> *mut c_void;
    pub fn retort_conn_backend(conn: *mut retort_conn) -> *const c_char;
    pub fn retort_conn_is_offline(conn: *mut retort_conn) -> c_int;
    pub fn retort_conn_errmsg(conn: *mut retort_conn) -> *const c_char;
    pub fn retort_conn_set_error(conn: *mut retort_conn, message: *const c_char) -> c_int;

    // memory (process-wide; see the header before calling)
    pub fn retort_set_allocator(
        malloc_fn: Option<retort_malloc_fn>,
        realloc_fn: Option<retort_realloc_fn>,
        free_fn: Option<retort_free_fn>,
    ) -> c_int;

    // test harness
    pub fn retort_new_fresh(out: *mut *mut retort, url: *const c_char) -> c_int;
    pub fn retort_fresh_url(r: *mut retort, url: *mut *const c_char) -> c_int;
    pub fn retort_drop_templates(r: *mut retort, dropped: *mut *const c_char) -> c_int;
    pub fn retort_schema_snapshot(r: *mut retort, text: *mut *const c_char) -> c_int;
    pub fn retort_test_single_head(r: *mut retort) -> c_int;
    pub fn retort_test_upgrade(r: *mut retort) -> c_int;
    pub fn retort_test_stairway(r: *mut retort) -> c_int;
    pub fn retort_test_stairway_partial(r: *mut retort, stopped_at: *mut *const c_char) -> c_int;
    pub fn retort_test_downgrade(r: *mut retort) -> c_int;

    // autogenerate
    pub fn retort_autogenerate(r: *mut retort, declared_sql: *const c_char,
                               up_sql: *mut *const c_char, down_sql: *mut *const c_char) -> c_int;
    pub fn retort_schema_diff(r: *mut retort, declared_sql: *const c_char,
                              diff: *mut *const c_char) -> c_int;
}
