//! The safe wrapper against real databases: every behaviour runs on SQLite
//! (`sqlite::NAME`) and on PostgreSQL (`postgres::NAME`), and asserts the
//! database's end state (the version table through `applied()`, the tables
//! through the schema snapshot), not only the return values.

mod common;

use common::{Backend, Db, TempDir};
use retort::{ChecksumPolicy, Direction, ErrorCode, LogLevel, Migration, Retort};
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

backend_tests!(
    upgrade_applies_sql_and_closure_revisions_in_order,
    closure_migration_runs_exactly_once,
    failing_sql_migration_reports_its_revision_and_keeps_earlier_ones,
    closure_error_fails_its_revision_with_the_closure_message,
    panicking_closure_fails_its_revision_without_unwinding_into_c,
    downgrade_reverts_to_target_then_to_base,
    irreversible_revision_stops_the_downgrade_before_anything_runs,
    offline_sql_renders_the_plan_and_changes_nothing,
    stamp_and_mark_record_state_without_running_migrations,
    settings_reject_bad_values_naming_them,
    log_closure_receives_the_library_messages,
    load_dir_registers_files_and_reports_unreadable_directories,
    revisions_report_order_parents_and_flags,
    exec_params_binds_null_and_text,
    check_reports_pending_revisions,
    test_harness_checks_pass_on_reversible_migrations,
    schema_diff_compares_with_declared_sql,
    context_moves_to_another_thread,
);

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Three revisions: SQL, a closure, SQL; all reversible.  Returns the
/// counters of the closure's up and down runs.
fn register_three(r: &mut Retort) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (ups, downs) = (counter(), counter());
    r.add_sql("0001_users", "", "users",
              "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
              Some("DROP TABLE users")).unwrap();
    let (u, d) = (ups.clone(), downs.clone());
    r.add(Migration::new("0002_audit", move |c| {
        u.fetch_add(1, Ordering::SeqCst);
        c.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT)")?;
        c.exec("INSERT INTO users (id, name) VALUES (1, 'admin')")?;
        Ok(())
    })
    .parents("0001_users")
    .message("audit table, in Rust")
    .down(move |c| {
        d.fetch_add(1, Ordering::SeqCst);
        c.exec("DROP TABLE audit")?;
        c.exec("DELETE FROM users WHERE id = 1")?;
        Ok(())
    }))
    .unwrap();
    r.add_sql("0003_posts", "0002_audit", "posts",
              "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)",
              Some("DROP TABLE posts")).unwrap();
    (ups, downs)
}

fn upgrade_applies_sql_and_closure_revisions_in_order(db: &mut Db) {
    let (ups, _) = register_three(&mut db.r);
    assert_eq!(db.r.plan(Direction::Upgrade, "head").unwrap(),
               ids(&["0001_users", "0002_audit", "0003_posts"]));
    db.r.migrate_to_head().unwrap();
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users", "0002_audit", "0003_posts"]));
    assert_eq!(db.r.current().unwrap(), ids(&["0003_posts"]));
    assert_eq!(db.tables(), ids(&["audit", "posts", "users"]));
    assert_eq!(ups.load(Ordering::SeqCst), 1);
    assert!(db.r.plan(Direction::Upgrade, "head").unwrap().is_empty());
    db.r.check().unwrap();
}

fn closure_migration_runs_exactly_once(db: &mut Db) {
    let (ups, downs) = register_three(&mut db.r);
    db.r.migrate_to_head().unwrap();
    db.r.migrate_to_head().unwrap();
    db.r.upgrade("heads").unwrap();
    assert_eq!(ups.load(Ordering::SeqCst), 1, "the up closure ran more than once");
    assert_eq!(downs.load(Ordering::SeqCst), 0);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users", "0002_audit", "0003_posts"]));
    if db.can_reopen() {
        // A second process-like context on the same database runs nothing.
        let mut other = db.reopen();
        let (ups2, _) = register_three(&mut other);
        other.migrate_to_head().unwrap();
        assert_eq!(ups2.load(Ordering::SeqCst), 0, "a second context re-ran the closure");
        assert_eq!(other.applied().unwrap(), ids(&["0001_users", "0002_audit", "0003_posts"]));
    }
}

fn failing_sql_migration_reports_its_revision_and_keeps_earlier_ones(db: &mut Db) {
    db.r.add_sql("0001_ok", "", "", "CREATE TABLE kept (x INTEGER)", Some("DROP TABLE kept"))
        .unwrap();
    db.r.add_sql("0002_broken", "0001_ok", "",
                 "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1)", None)
        .unwrap();
    let err = db.r.migrate_to_head().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Migration, "{:?}", err);
    assert_eq!(err.raw_code(), retort::sys::RETORT_EMIGRATION);
    assert!(err.message().contains("0002_broken"), "message does not name the revision: {}", err);
    assert!(err.message().contains("no_such_table"),
            "message lacks the database's text: {}", err);
    assert_eq!(err.to_string(), err.message());
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_ok"]));
    assert_eq!(db.tables(), ids(&["kept"]), "the failed revision was not rolled back");
}

fn closure_error_fails_its_revision_with_the_closure_message(db: &mut Db) {
    db.r.add_sql("0001_ok", "", "", "CREATE TABLE kept (x INTEGER)", None).unwrap();
    db.r.add(Migration::new("0002_refuses", |c| {
        c.exec("CREATE TABLE never (x INTEGER)")?;
        Err("quota policy forbids this table".into())
    })
    .parents("0001_ok"))
    .unwrap();
    let err = db.r.migrate_to_head().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Migration, "{:?}", err);
    assert!(err.message().contains("0002_refuses"), "{}", err);
    assert!(err.message().contains("quota policy forbids this table"), "{}", err);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_ok"]));
    assert_eq!(db.tables(), ids(&["kept"]));

    // A failed exec propagated with ? reports the database's own text.
    let mut again = if db.can_reopen() { db.reopen() } else { return };
    again.add_sql("0001_ok", "", "", "CREATE TABLE kept (x INTEGER)", None).unwrap();
    again.add(Migration::new("0002_bad_sql", |c| {
        c.exec("INSERT INTO missing_table VALUES (1)")?;
        Ok(())
    })
    .parents("0001_ok"))
    .unwrap();
    let err = again.migrate_to_head().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Migration, "{:?}", err);
    assert!(err.message().contains("0002_bad_sql") && err.message().contains("missing_table"),
            "{}", err);
}

fn panicking_closure_fails_its_revision_without_unwinding_into_c(db: &mut Db) {
    db.r.add(Migration::new("0001_panics", |c| {
        c.exec("CREATE TABLE before_panic (x INTEGER)")?;
        panic!("the closure gave up");
    }))
    .unwrap();
    let err = db.r.migrate_to_head().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Migration, "{:?}", err);
    assert!(err.message().contains("0001_panics"), "{}", err);
    assert!(err.message().contains("panicked: the closure gave up"), "{}", err);
    // The context is still usable and the revision's work rolled back.
    assert!(db.r.applied().unwrap().is_empty());
    assert!(db.tables().is_empty(), "{:?}", db.tables());
}

fn downgrade_reverts_to_target_then_to_base(db: &mut Db) {
    let (ups, downs) = register_three(&mut db.r);
    db.r.migrate_to_head().unwrap();
    assert_eq!(db.r.plan(Direction::Downgrade, "0001_users").unwrap(),
               ids(&["0003_posts", "0002_audit"]));
    db.r.downgrade("0001_users").unwrap();
    assert_eq!(downs.load(Ordering::SeqCst), 1);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users"]));
    assert_eq!(db.tables(), ids(&["users"]));
    db.r.downgrade("base").unwrap();
    assert!(db.r.applied().unwrap().is_empty());
    assert!(db.r.current().unwrap().is_empty());
    assert!(db.tables().is_empty(), "{:?}", db.tables());
    // And up again: the closure runs a second time, as it must.
    db.r.upgrade("+2").unwrap();
    assert_eq!(ups.load(Ordering::SeqCst), 2);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users", "0002_audit"]));
}

fn irreversible_revision_stops_the_downgrade_before_anything_runs(db: &mut Db) {
    let downs = counter();
    db.r.add_sql("0001_base", "", "", "CREATE TABLE a (x INTEGER)", Some("DROP TABLE a")).unwrap();
    db.r.add(Migration::new("0002_one_way", |c| {
        c.exec("CREATE TABLE b (x INTEGER)")?;
        Ok(())
    })
    .parents("0001_base"))
    .unwrap();
    let d = downs.clone();
    db.r.add(Migration::new("0003_top", |c| {
        c.exec("CREATE TABLE c (x INTEGER)")?;
        Ok(())
    })
    .parents("0002_one_way")
    .down(move |c| {
        d.fetch_add(1, Ordering::SeqCst);
        c.exec("DROP TABLE c")?;
        Ok(())
    }))
    .unwrap();
    db.r.migrate_to_head().unwrap();
    let err = db.r.downgrade("base").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Irreversible, "{:?}", err);
    assert!(err.message().contains("0002_one_way"), "{}", err);
    assert_eq!(downs.load(Ordering::SeqCst), 0, "a down step ran before the refusal");
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_base", "0002_one_way", "0003_top"]));
    assert_eq!(db.tables(), ids(&["a", "b", "c"]));
}

fn offline_sql_renders_the_plan_and_changes_nothing(db: &mut Db) {
    db.r.add_sql("0001_t", "", "", "CREATE TABLE offline_t (x INTEGER)", Some("DROP TABLE offline_t"))
        .unwrap();
    let seen_offline = Arc::new(Mutex::new(None));
    let s = seen_offline.clone();
    db.r.add(Migration::new("0002_closure", move |c| {
        *s.lock().unwrap() = Some((c.is_offline(), c.native().is_null()));
        c.exec("CREATE INDEX offline_i ON offline_t (x)")?;
        Ok(())
    })
    .parents("0001_t"))
    .unwrap();
    let script = db.r.upgrade_sql("head").unwrap();
    assert!(script.contains("CREATE TABLE offline_t"), "{}", script);
    assert!(script.contains("CREATE INDEX offline_i"), "closure SQL missing: {}", script);
    assert!(script.contains("0002_closure"), "{}", script);
    assert_eq!(*seen_offline.lock().unwrap(), Some((true, true)));
    let down = db.r.downgrade_sql("0001_t:base").unwrap();
    assert!(down.contains("DROP TABLE offline_t"), "{}", down);
    assert!(db.r.applied().unwrap().is_empty());
    assert!(db.tables().is_empty());
}

fn stamp_and_mark_record_state_without_running_migrations(db: &mut Db) {
    let (ups, downs) = register_three(&mut db.r);
    db.r.stamp("0002_audit").unwrap();
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users", "0002_audit"]));
    assert_eq!(ups.load(Ordering::SeqCst), 0);
    assert!(db.tables().is_empty(), "stamp ran a migration: {:?}", db.tables());
    db.r.mark_reverted("0002_audit").unwrap();
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users"]));
    db.r.mark_applied("0003_posts").unwrap();
    assert!(db.r.applied().unwrap().contains(&"0003_posts".to_string()));
    let err = db.r.mark_applied("9999_nope").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{:?}", err);
    assert!(err.message().contains("9999_nope"), "{}", err);
    db.r.stamp("base").unwrap();
    assert!(db.r.applied().unwrap().is_empty());
    assert_eq!(downs.load(Ordering::SeqCst), 0);
}

fn settings_reject_bad_values_naming_them(db: &mut Db) {
    let err = db.r.set("checksum_policy", "sometimes").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(err.message().contains("checksum_policy") && err.message().contains("sometimes"),
            "{}", err);
    let err = db.r.set("no_such_setting", "1").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(err.message().contains("no_such_setting"), "{}", err);
    let err = db.r.set_version_table("1bad name").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    let err = db.r.add_sql("bad\0id", "", "", "SELECT 1", None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(err.message().contains("NUL"), "{}", err);

    db.r.set("lock_timeout", "5000").unwrap();
    db.r.set_lock_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.r.set_checksum_policy(ChecksumPolicy::Error).unwrap();
    db.r.set_transaction_mode(retort::TransactionMode::WholeRun).unwrap();
    db.r.set_tolerate_unknown(false).unwrap();
    db.r.set_version_table("rust_versions").unwrap();
    db.r.add_sql("0001", "", "", "CREATE TABLE s (x INTEGER)", None).unwrap();
    db.r.migrate_to_head().unwrap();
    assert_eq!(db.r.applied().unwrap(), ids(&["0001"]));
    if db.can_reopen() {
        // The rows went into the table named: the default one is empty.
        let mut other = db.reopen();
        other.add_sql("0001", "", "", "CREATE TABLE s (x INTEGER)", None).unwrap();
        assert!(other.applied().unwrap().is_empty());
        other.set_version_table("rust_versions").unwrap_err(); // after the first operation
        let mut third = db.reopen();
        third.set_version_table("rust_versions").unwrap();
        assert_eq!(third.applied().unwrap(), ids(&["0001"]));
    }
}

fn log_closure_receives_the_library_messages(db: &mut Db) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    db.r.set_log(move |level, message| l.lock().unwrap().push((level, message.to_string())))
        .unwrap();
    db.r.set_log_level(LogLevel::Info).unwrap();
    db.r.add_sql("0001_logged", "", "", "CREATE TABLE logged (x INTEGER)", None).unwrap();
    db.r.migrate_to_head().unwrap();
    {
        let got = lines.lock().unwrap();
        assert!(got.iter().any(|(lv, m)| *lv == LogLevel::Info && m.contains("0001_logged")),
                "{:?}", *got);
    }
    // Replacing the logger frees the old closure and routes to the new one.
    let count = counter();
    let c = count.clone();
    db.r.set_log(move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(Arc::strong_count(&lines), 1, "the replaced log closure was not freed");
    db.r.add_sql("0002_logged", "0001_logged", "", "CREATE TABLE logged2 (x INTEGER)", None)
        .unwrap();
    db.r.migrate_to_head().unwrap();
    assert!(count.load(Ordering::SeqCst) >= 1);
    db.r.reset_log().unwrap();
    assert_eq!(Arc::strong_count(&count), 1, "the reset log closure was not freed");
}

fn load_dir_registers_files_and_reports_unreadable_directories(db: &mut Db) {
    let dir = TempDir::new();
    fs::write(dir.path().join("0001_first.sql"),
              "-- retort:message first\n-- retort:up\nCREATE TABLE from_dir (x INTEGER);\n\
               -- retort:down\nDROP TABLE from_dir;\n").unwrap();
    fs::write(dir.path().join("0002_second.up.sql"), "CREATE TABLE from_dir2 (x INTEGER);\n")
        .unwrap();
    fs::write(dir.path().join("0002_second.down.sql"), "DROP TABLE from_dir2;\n").unwrap();
    db.r.load_dir(dir.path()).unwrap();
    assert_eq!(db.r.heads().unwrap(), ids(&["0002_second"]));
    db.r.migrate_to_head().unwrap();
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_first", "0002_second"]));
    assert_eq!(db.tables(), ids(&["from_dir", "from_dir2"]));

    let missing = dir.path().join("no-such-dir");
    let err = db.r.load_dir(&missing).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{:?}", err);
    assert!(err.message().contains("no-such-dir"), "{}", err);
}

fn revisions_report_order_parents_and_flags(db: &mut Db) {
    register_three(&mut db.r);
    db.r.add(Migration::new("0004_concurrent", |_| Ok(())).parents("0003_posts")
             .transactional(false))
        .unwrap();
    assert_eq!(db.r.revision_count().unwrap(), 4);
    db.r.upgrade("0002_audit").unwrap();
    db.r.applied().unwrap();
    let revs = db.r.revisions().unwrap();
    let got: Vec<&str> = revs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, vec!["0001_users", "0002_audit", "0003_posts", "0004_concurrent"]);
    assert_eq!(revs[1].parents, ids(&["0001_users"]));
    assert_eq!(revs[1].message, "audit table, in Rust");
    assert!(revs[0].is_sql() && !revs[1].is_sql());
    assert!(revs[0].is_applied() && revs[1].is_applied() && !revs[2].is_applied());
    assert!(revs[3].is_irreversible() && !revs[3].is_transactional());
    assert!(revs[2].is_transactional() && !revs[2].is_irreversible());
    assert_eq!(db.r.heads().unwrap(), ids(&["0004_concurrent"]));

    let err = db.r.add_sql("0001_users", "", "", "SELECT 1", None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Exists);
    assert!(err.message().contains("0001_users"), "{}", err);
    assert_eq!(db.r.revision_count().unwrap(), 4, "a rejected revision was registered");
}

fn exec_params_binds_null_and_text(db: &mut Db) {
    db.r.add_sql("0001_t", "", "", "CREATE TABLE p (name TEXT NOT NULL, note TEXT)", None)
        .unwrap();
    let expected = match db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    db.r.add(Migration::new("0002_insert", move |c| {
        assert!(!c.is_offline());
        assert_eq!(c.backend(), expected);
        // A quote in a value stays a value.
        c.exec_params("INSERT INTO p (name, note) VALUES ($1, $2)", &[Some("o'brien"), None])?;
        Ok(())
    })
    .parents("0001_t"))
    .unwrap();
    db.r.add(Migration::new("0003_null_name", |c| {
        c.exec_params("INSERT INTO p (name, note) VALUES ($1, $2)", &[None, Some("x")])?;
        Ok(())
    })
    .parents("0002_insert"))
    .unwrap();
    let err = db.r.migrate_to_head().unwrap_err();
    // NULL was bound as SQL NULL: the NOT NULL constraint refused it.
    assert_eq!(err.code(), ErrorCode::Migration);
    assert!(err.message().contains("0003_null_name"), "{}", err);
    assert!(err.message().to_lowercase().contains("null"), "{}", err);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_t", "0002_insert"]));
}

fn check_reports_pending_revisions(db: &mut Db) {
    register_three(&mut db.r);
    db.r.upgrade("0001_users").unwrap();
    let err = db.r.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Pending, "{:?}", err);
    assert!(err.message().contains("0002_audit"), "{}", err);
    assert_eq!(db.r.applied().unwrap(), ids(&["0001_users"]), "check changed the database");
    db.r.migrate_to_head().unwrap();
    db.r.check().unwrap();
}

fn test_harness_checks_pass_on_reversible_migrations(db: &mut Db) {
    register_three(&mut db.r);
    db.r.test_single_head().unwrap();
    db.r.test_stairway().unwrap();
    db.r.test_downgrade().unwrap();
    assert_eq!(db.r.test_stairway_partial().unwrap(), "", "no irreversible revision: no stop");
    assert!(db.r.applied().unwrap().is_empty(), "the checks must leave the target at base");
    db.r.add_sql("0004_other_head", "0001_users", "", "SELECT 1", None).unwrap();
    let err = db.r.test_single_head().unwrap_err();
    assert_eq!(err.code(), ErrorCode::CheckFailed, "{:?}", err);
}

fn schema_diff_compares_with_declared_sql(db: &mut Db) {
    let declared = "CREATE TABLE d (id INTEGER PRIMARY KEY, v TEXT)";
    db.r.add_sql("0001_d", "", "", declared, Some("DROP TABLE d")).unwrap();
    db.r.migrate_to_head().unwrap();
    assert_eq!(db.r.schema_diff(declared).unwrap(), None);
    let wanted = "CREATE TABLE d (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE e (x INTEGER)";
    let diff = db.r.schema_diff(wanted).unwrap().expect("a drift");
    assert!(diff.contains("+table e"), "{}", diff);
    let (up, down) = db.r.autogenerate(wanted).unwrap();
    assert!(up.contains("CREATE TABLE") && up.contains('e'), "{}", up);
    assert!(down.contains("DROP TABLE"), "{}", down);
    assert_eq!(db.tables(), ids(&["d"]), "autogenerate changed the database");
}

fn context_moves_to_another_thread(db: &mut Db) {
    let (ups, _) = register_three(&mut db.r);
    let r = std::mem::replace(&mut db.r, Retort::new("sqlite::memory:").unwrap());
    let mut r = std::thread::spawn(move || {
        let mut r = r;
        r.migrate_to_head().unwrap();
        r
    })
    .join()
    .unwrap();
    assert_eq!(ups.load(Ordering::SeqCst), 1);
    assert_eq!(r.applied().unwrap(), ids(&["0001_users", "0002_audit", "0003_posts"]));
    db.r = r; // drops the placeholder; the fixture keeps its cleanup
}

// ------------------------------------------------ independent of a backend

#[test]
fn bad_url_is_an_error_naming_the_schemes() {
    let err = Retort::new("nosuchdb://x").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Url, "{:?}", err);
    assert!(err.message().contains("sqlite"), "{}", err);
}
