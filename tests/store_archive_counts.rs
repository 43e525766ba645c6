//! Migration 0006: the per-channel message counts kept by triggers agree with
//! the archive, on SQLite always and on PostgreSQL when `MIXMUC_TEST_PG_URL`
//! names a database (its own schema, dropped at the end).

use mixmuc::config::StoreConfig;
use mixmuc::store::{ArchiveQuery, Store};
use sqlx::{AnyConnection, Connection, Executor};

async fn append(s: &Store, channel: &str, n: usize, tag: &str) {
    for i in 0..n {
        s.append_message(channel, &format!("{tag}-{channel}-{i}"), 1000 + i as i64, "alice@localhost", "p1", if i % 2 == 0 { "alice" } else { "bob" }, None, true, "<message xmlns='jabber:client'/>")
            .await
            .expect("append");
    }
}

fn whole(channel: &str) -> ArchiveQuery {
    ArchiveQuery { channel: channel.into(), ..Default::default() }
}

async fn check(s: &Store, raw: &mut AnyConnection) {
    for (name, _) in [("coven", ()), ("other", ())] {
        s.create_channel(name, "alice@localhost", false, mixmuc::store::JidVisibility::Visible, 1).await.expect("create");
    }
    assert_eq!(s.count_archive(&whole("coven")).await.unwrap(), 0, "no message yet");
    append(s, "coven", 7, "a").await;
    append(s, "other", 3, "a").await;
    assert_eq!(s.count_archive(&whole("coven")).await.unwrap(), 7);
    assert_eq!(s.count_archive(&whole("other")).await.unwrap(), 3);
    // A filtered count still counts the rows themselves.
    let nick = ArchiveQuery { nick: Some("bob".into()), ..whole("coven") };
    assert_eq!(s.count_archive(&nick).await.unwrap(), 3);
    // A multi-row insert outside the store is counted too.
    raw.execute(
        "INSERT INTO archive (channel, id, ts, sender_jid, participant_id, nick, payload) \
         VALUES ('coven', 'bulk-1', 1, 'x', 'p', 'n', ''), ('coven', 'bulk-2', 2, 'x', 'p', 'n', ''), ('other', 'bulk-3', 3, 'x', 'p', 'n', '')",
    )
    .await
    .expect("bulk insert");
    assert_eq!(s.count_archive(&whole("coven")).await.unwrap(), 9);
    assert_eq!(s.count_archive(&whole("other")).await.unwrap(), 4);
    raw.execute("DELETE FROM archive WHERE id = 'bulk-1'").await.expect("delete one");
    assert_eq!(s.count_archive(&whole("coven")).await.unwrap(), 8);
    // Destroying a channel with its archive leaves nothing to count.
    assert!(s.delete_channel("coven", true).await.unwrap());
    assert_eq!(s.count_archive(&whole("coven")).await.unwrap(), 0);
    assert_eq!(s.count_archive(&whole("other")).await.unwrap(), 4, "other channels keep their count");
}

#[tokio::test]
async fn sqlite_counts_follow_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let s = Store::open(&StoreConfig { url: url.clone(), ..StoreConfig::default() }).await.unwrap();
    sqlx::any::install_default_drivers();
    let mut raw = AnyConnection::connect(&format!("{url}?mode=rwc")).await.unwrap();
    check(&s, &mut raw).await;
}

#[tokio::test]
async fn postgres_counts_follow_the_archive() {
    let Some(url) = std::env::var("MIXMUC_TEST_PG_URL").ok().filter(|u| !u.trim().is_empty()) else {
        assert!(std::env::var("CI").map(|v| v != "true").unwrap_or(true), "CI=true needs MIXMUC_TEST_PG_URL");
        eprintln!("MIXMUC_TEST_PG_URL unset: PostgreSQL half skipped");
        return;
    };
    let schema = format!("mxt_counts_{}", std::process::id());
    let s = Store::open(&StoreConfig { url: url.clone(), schema: Some(schema.clone()), ..StoreConfig::default() }).await.unwrap();
    let mut raw = AnyConnection::connect(&url).await.unwrap();
    raw.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}"))).await.unwrap();
    let result = tokio::spawn({
        let s = s.clone();
        async move { check(&s, &mut raw).await }
    })
    .await;
    s.close().await;
    let mut c = AnyConnection::connect(&url).await.unwrap();
    c.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).await.unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
