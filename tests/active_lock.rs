//! The store's active lock (`store::ActiveLock`, docs/deploy/scale-out.md):
//! of two processes on one PostgreSQL store one is active, the other waits
//! until the first one's session ends; SQLite needs no such lock.

mod pg;

use std::time::Duration;

use mixmuc::config::StoreConfig;
use mixmuc::store::ActiveLock;
use pg::{pg_url, PgSchema};

fn store(url: &str, schema: Option<&str>) -> StoreConfig {
    let mut cfg = StoreConfig::default();
    cfg.url = url.to_string();
    cfg.schema = schema.map(str::to_string);
    cfg
}

#[tokio::test]
async fn sqlite_needs_no_active_lock() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = store(&format!("sqlite://{}/m.db", dir.path().display()), None);
    assert!(ActiveLock::wait(&cfg, || panic!("nothing to wait for")).await.unwrap().is_none());
}

#[tokio::test]
async fn one_active_process_per_postgres_store() {
    let Some(url) = pg_url("the active lock test") else { return };
    let schema = format!("mxactive_{}", std::process::id());
    let _guard = PgSchema { url: url.clone(), name: schema.clone() };
    let cfg = store(&url, Some(&schema));
    let first = ActiveLock::wait(&cfg, || panic!("the first process waited")).await.unwrap().expect("a PostgreSQL lock");
    let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = waited.clone();
    let cfg2 = cfg.clone();
    let second = tokio::spawn(async move { ActiveLock::wait(&cfg2, move || w.store(true, std::sync::atomic::Ordering::SeqCst)).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!second.is_finished(), "a second process became active while the first one is");
    assert!(waited.load(std::sync::atomic::Ordering::SeqCst), "the second process was not told it waits");
    // Another schema is another store: active at once.
    let other = store(&url, Some(&format!("{schema}_other")));
    let _other_guard = PgSchema { url: url.clone(), name: format!("{schema}_other") };
    assert!(ActiveLock::wait(&other, || panic!("another store's lock")).await.unwrap().is_some());
    // The first one's session ends (as when its process dies): the second takes over.
    drop(first);
    let taken = tokio::time::timeout(Duration::from_secs(10), second).await.expect("the second process took over").unwrap().unwrap();
    assert!(taken.is_some());
}
