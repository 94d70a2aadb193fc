//! A program that keeps its database at the newest schema: one migration in
//! SQL, one in Rust.  Run it twice; the second run applies nothing.
//!
//!     cargo run --example migrate -- sqlite:app.db
//!     cargo run --example migrate -- postgresql://user@localhost/app

use retort::{Migration, Retort};
use std::process::ExitCode;

fn migrate(url: &str) -> retort::Result<Vec<String>> {
    let mut r = Retort::new(url)?;
    r.add_sql("0001_users", "", "the users table",
              "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
              Some("DROP TABLE users"))?;
    r.add(Migration::new("0002_admin", |c| {
        println!("running 0002_admin on {}", c.backend());
        c.exec_params("INSERT INTO users (id, name) VALUES ($1, $2)", &[Some("1"), Some("admin")])?;
        Ok(())
    })
    .parents("0001_users")
    .message("the first user")
    .down(|c| {
        c.exec("DELETE FROM users WHERE name = 'admin'")?;
        Ok(())
    }))?;
    r.migrate_to_head()?;
    r.current()
}

fn main() -> ExitCode {
    let url = std::env::args().nth(1).unwrap_or_else(|| "sqlite:app.db".to_string());
    match migrate(&url) {
        Ok(heads) => {
            println!("current: {}", heads.join(" "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migrate: {} ({:?})", e, e.code());
            ExitCode::FAILURE
        }
    }
}
