//! PostgreSQL for the suites that run on both backends (tests/store_suite.rs,
//! tests/cli_admin.rs): the database `MIXMUC_TEST_PG_URL` names, and a
//! schema per test dropped at the end.

use sqlx::{AnyConnection, Connection, Executor};

/// The URL of the test database; None (after one loud warning) when
/// `MIXMUC_TEST_PG_URL` is unset, and a panic when `CI=true`: the
/// PostgreSQL half of `suite` must run in CI.
pub fn pg_url(suite: &str) -> Option<String> {
    match std::env::var("MIXMUC_TEST_PG_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("MIXMUC_TEST_PG_URL is unset but CI=true: the PostgreSQL half of {suite} must run in CI");
            }
            // Once per run, and straight to the process's stderr: libtest
            // captures `eprintln!` of passing tests, which would hide it.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                use std::io::Write as _;
                let line = "*".repeat(75);
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{line}\n* WARNING: MIXMUC_TEST_PG_URL is unset: {suite} runs on SQLite ONLY.\n\
                     * PostgreSQL is NOT tested (postgres::* pass as skips).\n\
                     * Set e.g. MIXMUC_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test\n{line}\n"
                );
            });
            None
        }
    }
}

/// Drops its schema when dropped (also when the test panicked).
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: do the async work on a thread
        // with a runtime of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                sqlx::any::install_default_drivers();
                let mut c = AnyConnection::connect(&url).await.map_err(|e| e.to_string())?;
                c.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).await.map_err(|e| e.to_string())?;
                c.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test schema {}: {e}", self.name),
            Err(_) => eprintln!("warning: dropping test schema {} panicked", self.name),
        }
    }
}
