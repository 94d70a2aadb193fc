//! A fresh database per test, on SQLite (a file in a temporary directory)
//! or PostgreSQL (a uniquely named schema from `Retort::new_fresh`, through
//! the libpq environment that scripts/with-postgres exports: PGHOST,
//! PGPORT, PGUSER, PGDATABASE).
//!
//! Without a PostgreSQL server (PGHOST unset, or RETORT_TEST_PG_SKIP set by
//! scripts/with-postgres) the PostgreSQL tests print why and return; the
//! Meson test that runs them reports SKIP instead (tests/rust).  A server
//! that PGHOST names but that does not answer fails the tests.

#![allow(dead_code)]

use retort::Retort;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::{env, fs, process};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A directory removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = env::temp_dir().join(format!("retort-rs-{}-{}", process::id(), n));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Why PostgreSQL tests cannot run here, or None when they can.
pub fn postgres_unavailable() -> Option<String> {
    if let Some(why) = env::var("RETORT_TEST_PG_SKIP").ok().filter(|s| !s.is_empty()) {
        return Some(format!("no PostgreSQL server: {}", why));
    }
    if env::var("PGHOST").map(|h| h.is_empty()).unwrap_or(true) {
        return Some("no PostgreSQL server: PGHOST is not set (run under scripts/with-postgres)"
            .to_string());
    }
    None
}

/// One test's database.  `r` is a context on it; `reopen()` gives another
/// context on the same database (SQLite only: the PostgreSQL schema belongs
/// to `r` and is dropped with it).
pub struct Db {
    pub backend: Backend,
    pub r: Retort,
    pub dir: TempDir,
    url: Option<String>,
}

impl Db {
    /// None (after printing why) when the backend cannot be tested here.
    pub fn open(backend: Backend) -> Option<Db> {
        let dir = TempDir::new();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                let r = Retort::new(&url).expect("a context on a SQLite file");
                Some(Db { backend, r, dir, url: Some(url) })
            }
            Backend::Postgres => {
                if let Some(why) = postgres_unavailable() {
                    println!("SKIP: {}", why);
                    return None;
                }
                let r = Retort::new_fresh("postgresql:")
                    .unwrap_or_else(|e| panic!("PGHOST is set but no fresh schema: {}", e));
                Some(Db { backend, r, dir, url: None })
            }
        }
    }

    pub fn can_reopen(&self) -> bool {
        self.url.is_some()
    }

    pub fn reopen(&self) -> Retort {
        Retort::new(self.url.as_ref().expect("reopen needs a SQLite database"))
            .expect("a second context on the same database")
    }

    /// The table names in the database's schema snapshot (version table
    /// and audit log excluded).
    pub fn tables(&mut self) -> Vec<String> {
        let snapshot = self.r.schema_snapshot().expect("schema snapshot");
        let mut names: Vec<String> = snapshot
            .lines()
            .filter_map(|line| line.strip_prefix("table "))
            .map(|rest| rest.split([' ', '(', '.']).next().unwrap_or("").to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Both backends for each test function `fn name(db: &mut Db)`: tests
/// `sqlite::name` and `postgres::name`, so `cargo test sqlite::` selects one
/// backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    if let Some(mut db) = $crate::common::Db::open($crate::common::Backend::Sqlite) {
                        super::$name(&mut db);
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(mut db) = $crate::common::Db::open($crate::common::Backend::Postgres) {
                        super::$name(&mut db);
                    }
                }
            )*
        }
    };
}
