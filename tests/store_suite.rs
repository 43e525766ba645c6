//! One store suite, run against every backend: SQLite (a file in a temporary
//! folder) always, and PostgreSQL when `MIXMUC_TEST_PG_URL` names a database
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`). Each PostgreSQL test
//! works in a schema of its own (`StoreConfig::schema`), dropped at the end
//! even when the test fails.
//!
//! Without `MIXMUC_TEST_PG_URL` the PostgreSQL half is skipped with a loud
//! warning, or fails when `CI=true`: CI must cover both backends.
//!
//! Every case is a plain `async fn(&Db)`; the `suite!` macro turns each into
//! `sqlite::<case>` and `postgres::<case>` tests.

mod pg;

use std::sync::atomic::{AtomicU32, Ordering};

use mixmuc::config::StoreConfig;
use mixmuc::store::{ArchiveQuery, Backend, NewMessage, Store, StoreError};
use pg::{pg_url, PgSchema};
use sqlx::{AnyConnection, Connection, Executor};

/// A database for one test.
struct Db {
    cfg: StoreConfig,
    backend: Backend,
    /// The SQLite folder, removed on drop.
    dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema, dropped on drop.
    _schema: Option<PgSchema>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("mixmuc.db").display());
        Db { cfg: StoreConfig { url, ..StoreConfig::default() }, backend: Backend::Sqlite, dir: Some(dir), _schema: None }
    }

    /// `None` (after a warning) when no PostgreSQL is configured.
    fn postgres(case: &str) -> Option<Db> {
        let url = pg_url("the store suite")?;
        static N: AtomicU32 = AtomicU32::new(0);
        let mut case: String = case.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        case.truncate(30);
        let schema = format!("mxt_{}_{}_{case}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        Some(Db {
            cfg: StoreConfig { url: url.clone(), schema: Some(schema.clone()), ..StoreConfig::default() },
            backend: Backend::Postgres,
            dir: None,
            _schema: Some(PgSchema { url, name: schema }),
        })
    }

    async fn open(&self) -> Store {
        let store = Store::open(&self.cfg).await.unwrap_or_else(|e| panic!("opening the {:?} store: {e}", self.backend));
        assert_eq!(store.backend(), self.backend);
        store
    }

    /// A connection of our own, outside the store, on the same database
    /// (and schema).
    async fn raw(&self) -> AnyConnection {
        sqlx::any::install_default_drivers();
        let url = match self.backend {
            Backend::Sqlite => format!("{}?mode=rwc", self.cfg.url),
            Backend::Postgres => self.cfg.url.clone(),
        };
        let mut c = AnyConnection::connect(&url).await.unwrap_or_else(|e| panic!("raw connection: {e}"));
        if let Some(s) = &self.cfg.schema {
            c.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}"))).await.expect("search_path");
        }
        c
    }
}


macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::Db::sqlite();
                    super::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = super::Db::postgres(stringify!($case)) else { return };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

suite!(
    migrations_apply_and_are_idempotent,
    create_get_list_delete,
    duplicate_create_returns_false,
    creator_becomes_owner,
    data_survives_reopening,
    newer_database_is_refused,
    names_are_kept_exactly,
    presence_of_sessions_and_mix_clients,
    idle_sessions_longest_silent_first,
    append_messages_in_one_statement,
    appends_go_on_after_a_cancelled_append,
    channels_created_by_user_and_domain,
    preferences_are_kept,
    service_bans_and_figures,
    imported_rooms_and_archives,
);

/// Service-wide bans (migration 13): a JID or a domain, matched exactly
/// (a participant of `axb.example` is not one of `a_b.example`: `_` is no
/// wildcard, nor `capulet-montague.example` one of `montague.example`); the
/// figures of a channel and of the service (the sum of the archive counts
/// read as a BIGINT on PostgreSQL too); a channel's archive cleared.
async fn service_bans_and_figures(db: &Db) {
    use mixmuc::store::JidVisibility::Hidden;
    let s = db.open().await;
    assert!(s.add_service_ban("romeo@montague.example", "", "admin@shakespeare.example", 1).await.unwrap());
    assert!(!s.add_service_ban("romeo@montague.example", "again", "admin@shakespeare.example", 2).await.unwrap(), "a repeated ban is not new");
    assert!(s.service_banned("romeo@montague.example", "montague.example").await.unwrap());
    assert!(!s.service_banned("juliet@montague.example", "montague.example").await.unwrap());
    assert!(s.add_service_ban("a_b.example", "spam", "admin@shakespeare.example", 3).await.unwrap());
    assert!(s.service_banned("z@a_b.example", "a_b.example").await.unwrap());
    assert!(!s.service_banned("w@axb.example", "axb.example").await.unwrap());
    let bans: Vec<(String, String, i64)> = s.service_bans().await.unwrap().into_iter().map(|b| (b.jid, b.reason, b.banned_at)).collect();
    assert_eq!(bans, vec![("a_b.example".to_string(), "spam".to_string(), 3), ("romeo@montague.example".to_string(), "again".to_string(), 1)]);

    for name in ["coven", "alpha"] {
        assert!(s.create_channel(name, "hag66@shakespeare.example", false, Hidden, 1).await.unwrap());
    }
    for (channel, jid, id) in [("coven", "z@a_b.example", "p1"), ("coven", "w@axb.example", "p2"), ("alpha", "z@a_b.example", "p3"), ("coven", "hag01@shakespeare.example", "p4")] {
        s.upsert_participant(channel, jid, id, &[], 1).await.unwrap();
    }
    let hit = s.participants_matching("a_b.example").await.unwrap();
    assert_eq!(hit, vec![("alpha".to_string(), "z@a_b.example".to_string()), ("coven".to_string(), "z@a_b.example".to_string())]);
    assert_eq!(s.participants_matching("w@axb.example").await.unwrap(), vec![("coven".to_string(), "w@axb.example".to_string())]);
    assert!(s.participants_matching("montague.example").await.unwrap().is_empty());

    s.add_occupant("coven", "hag01@shakespeare.example/broom", "hag01@shakespeare.example", 1).await.unwrap();
    s.append_messages(vec![new_message("coven", "a1", 11), new_message("coven", "a2", 12), new_message("alpha", "b1", 13)]).await.unwrap();
    let f = s.channel_figures(&["coven".to_string(), "alpha".to_string(), "nowhere".to_string()]).await.unwrap();
    let f: Vec<(i64, i64, i64, Option<i64>)> = f.into_iter().map(|f| (f.participants, f.online, f.messages, f.last_message_at)).collect();
    assert_eq!(f, vec![(3, 1, 2, Some(12)), (1, 0, 1, Some(13)), (0, 0, 0, None)]);
    let g = s.service_figures().await.unwrap();
    assert_eq!((g.channels, g.participants, g.occupants, g.mix_clients, g.messages, g.bans), (2, 4, 1, 0, 3, 2));

    assert_eq!(s.clear_archive("coven").await.unwrap(), 2);
    let f = s.channel_figures(&["coven".to_string()]).await.unwrap();
    assert_eq!((f[0].messages, f[0].last_message_at), (0, None));
    assert_eq!(s.service_figures().await.unwrap().messages, 1, "alpha's message stays");

    assert!(s.remove_service_ban("a_b.example").await.unwrap());
    assert!(!s.remove_service_ban("a_b.example").await.unwrap());
    assert!(!s.service_banned("z@a_b.example", "a_b.example").await.unwrap());
}

// ---------------------------------------------------------------- cases

/// The creation quotas' counts: by creator, and by the creator's domain
/// (a suffix match: `ample.example` is not `example`'s).
async fn channels_created_by_user_and_domain(db: &Db) {
    use mixmuc::store::JidVisibility::Hidden;
    let s = db.open().await;
    for (name, creator) in [("a", "hag66@shakespeare.example"), ("b", "hag66@shakespeare.example"), ("c", "hag01@shakespeare.example"), ("d", "x@ample.example"), ("e", "y@shakespeare.example.evil")] {
        assert!(s.create_channel(name, creator, false, Hidden, 1).await.unwrap());
    }
    assert_eq!(s.channels_created("hag66@shakespeare.example").await.unwrap(), (2, 3));
    assert_eq!(s.channels_created("new@ample.example").await.unwrap(), (0, 1));
    assert_eq!(s.channels_created("z@nowhere.example").await.unwrap(), (0, 0));
}

/// XEP-0404 preferences (migration 8): written and read back; a channel's
/// third mode too.
async fn preferences_are_kept(db: &Db) {
    use mixmuc::store::{JidPreference, JidVisibility, Preferences};
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, JidVisibility::MaybeVisible, 1).await.unwrap());
    assert_eq!(s.get_channel("coven").await.unwrap().unwrap().jid_visibility, JidVisibility::MaybeVisible);
    s.upsert_participant("coven", "hag01@shakespeare.example", "p1", &[], 1).await.unwrap();
    assert_eq!(s.get_participant("coven", "hag01@shakespeare.example").await.unwrap().unwrap().prefs, Preferences::default());
    let prefs = Preferences { jid: JidPreference::PreferNot, private_messages: false, vcard: false, presence: false };
    s.set_preferences("coven", "hag01@shakespeare.example", &prefs).await.unwrap();
    assert_eq!(s.get_participant("coven", "hag01@shakespeare.example").await.unwrap().unwrap().prefs, prefs);
    assert!(s.set_preferences("coven", "nobody@shakespeare.example", &prefs).await.is_err());
}

/// `mixmuc import`'s writes (store/import.rs): a room written whole and
/// read back as written; written again, its affiliations and registered
/// nicks are exactly the new ones and its other channels' untouched;
/// archive rows keep their ids, in the order given, and a second import of
/// the same ids adds nothing (the per-channel count follows); ids are found
/// with their channel.
async fn imported_rooms_and_archives(db: &Db) {
    use mixmuc::store::{JidVisibility, RoomImport};
    let s = db.open().await;
    assert!(s.create_channel("other", "hag66@shakespeare.example", false, JidVisibility::Hidden, 1).await.unwrap());
    s.register_nick("other", "hag01@shakespeare.example", "Hag", "hag").await.unwrap();
    let mut channel = s.get_channel("other").await.unwrap().unwrap();
    channel.name = "coven".into();
    channel.title = "The Coven".into();
    channel.subject = "Brooms".into();
    channel.subject_at = 5_000;
    channel.members_only = true;
    channel.public = false;
    channel.jid_visibility = JidVisibility::Visible;
    let aff = |j: &str, a: &str| (j.to_string(), a.to_string());
    let mut room = RoomImport {
        channel,
        affiliations: vec![aff("crone@shakespeare.example", "outcast"), aff("hag01@shakespeare.example", "member"), aff("hag66@shakespeare.example", "owner")],
        nicks: vec![("hag01@shakespeare.example".into(), "Caz".into(), "caz".into())],
    };
    assert_eq!(s.room_for_import("coven").await.unwrap(), None);
    s.write_imported_room(&room).await.unwrap();
    assert_eq!(s.room_for_import("coven").await.unwrap().as_ref(), Some(&room));
    room.affiliations.remove(0);
    room.nicks = vec![("hag66@shakespeare.example".into(), "Third".into(), "third".into())];
    room.channel.title = "Renamed".into();
    s.write_imported_room(&room).await.unwrap();
    assert_eq!(s.room_for_import("coven").await.unwrap().as_ref(), Some(&room));
    assert_eq!(s.registered_nick("other", "hag01@shakespeare.example").await.unwrap().as_deref(), Some("Hag"));

    let rows: Vec<NewMessage> = (0..4).map(|i| new_message("coven", &format!("5f1c-{i}"), 100 + i)).collect();
    assert_eq!(s.import_archive(rows[..3].to_vec()).await.unwrap(), 3);
    assert_eq!(s.import_archive(rows.clone()).await.unwrap(), 1);
    assert_eq!(s.import_archive(rows.clone()).await.unwrap(), 0);
    let all = s.query_archive(&ArchiveQuery { channel: "coven".into(), ..ArchiveQuery::default() }, 10, false).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["5f1c-0", "5f1c-1", "5f1c-2", "5f1c-3"]);
    assert_eq!((all[1].submission_id.as_deref(), all[3].jid_visible, all[0].payload.as_str()), (None, false, rows[0].payload.as_str()));
    assert_eq!(s.count_archive(&ArchiveQuery { channel: "coven".into(), ..ArchiveQuery::default() }).await.unwrap(), 4);
    let found = s.archive_ids_present(&["5f1c-2".into(), "nope".into()]).await.unwrap();
    assert_eq!(found, vec![("5f1c-2".to_string(), "coven".to_string())]);
    assert!(s.archive_ids_present(&[]).await.unwrap().is_empty());
}

fn new_message(channel: &str, id: &str, ts: i64) -> NewMessage {
    NewMessage {
        channel: channel.into(),
        id: id.into(),
        ts,
        sender_jid: "hag66@shakespeare.example".into(),
        participant_id: "pid1".into(),
        nick: "thirdwitch".into(),
        submission_id: (ts % 2 == 0).then(|| format!("sub-{id}")),
        payload: format!("<message xmlns='jabber:client'><body>{id}</body></message>"),
        jid_visible: ts % 4 != 3,
    }
}

/// `append_messages`: one transaction (SQLite) or one multi-row INSERT
/// (PostgreSQL), `seq` in the order given (after
/// what was archived before), every column kept, the per-channel counts of
/// migration 6 follow; a batch with a bad row archives nothing (all or
/// none, and the next append works); a batch of 128 rows (the dispatcher's
/// cap) and larger batches keep the order.
async fn append_messages_in_one_statement(db: &Db) {
    let s = db.open().await;
    for c in ["coven", "other"] {
        assert!(s.create_channel(c, "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    }
    s.append_message("coven", "a0", 10, "hag66@shakespeare.example", "pid1", "thirdwitch", None, true, "<message xmlns='jabber:client'/>").await.unwrap();
    let first = s.archive_seq("coven", "a0").await.unwrap().expect("a0 archived");
    s.append_messages(vec![]).await.unwrap();
    let rows = vec![new_message("coven", "a1", 11), new_message("other", "b1", 12), new_message("coven", "a2", 13), new_message("coven", "a3", 14)];
    s.append_messages(rows.clone()).await.unwrap();
    let mut seqs = Vec::new();
    for r in &rows {
        seqs.push(s.archive_seq(&r.channel, &r.id).await.unwrap().expect("archived"));
    }
    assert!(seqs[0] > first && seqs.windows(2).all(|w| w[0] < w[1]), "seq in the order given: {first} then {seqs:?}");
    let coven = ArchiveQuery { channel: "coven".into(), ..Default::default() };
    let got = s.query_archive(&coven, 100, false).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a0", "a1", "a2", "a3"]);
    // Each message's JID visibility is kept (migration 7): a1 was hidden.
    assert_eq!(got.iter().map(|r| r.jid_visible).collect::<Vec<_>>(), [true, false, true, true]);
    let a2 = &got[2];
    assert_eq!((a2.seq, a2.ts, a2.nick.as_str(), a2.submission_id.as_deref(), a2.payload.as_str()), (seqs[2], 13, "thirdwitch", None, rows[2].payload.as_str()));
    assert_eq!(got[3].submission_id.as_deref(), Some("sub-a3"));
    assert_eq!(s.count_archive(&coven).await.unwrap(), 4);
    assert_eq!(s.count_archive(&ArchiveQuery { channel: "other".into(), ..Default::default() }).await.unwrap(), 1);

    // An archive id already taken: the append fails and archives nothing.
    let bad = vec![new_message("coven", "c1", 20), new_message("coven", "a1", 21), new_message("coven", "c2", 22)];
    assert!(s.append_messages(bad).await.is_err());
    assert_eq!(s.archive_seq("coven", "c1").await.unwrap(), None, "all or none");
    assert_eq!(s.count_archive(&coven).await.unwrap(), 4);

    let many: Vec<_> = (0..128).map(|i| new_message("other", &format!("m{i}"), 100 + i)).collect();
    s.append_messages(many.clone()).await.unwrap();
    let other = s.query_archive(&ArchiveQuery { channel: "other".into(), ..Default::default() }, 200, false).await.unwrap();
    assert_eq!(other.iter().skip(1).map(|r| r.id.clone()).collect::<Vec<_>>(), many.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), "seq order = order given");
    assert_eq!(s.count_archive(&ArchiveQuery { channel: "other".into(), ..Default::default() }).await.unwrap(), 129);

    // Batches of other sizes, below and above 128 rows.
    let five: Vec<_> = (0..5).map(|i| new_message("coven", &format!("f{i}"), 300 + i)).collect();
    s.append_messages(five).await.unwrap();
    let got = s.query_archive(&coven, 100, false).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a0", "a1", "a2", "a3", "f0", "f1", "f2", "f3", "f4"]);
    assert_eq!(s.count_archive(&coven).await.unwrap(), 9);
    let big: Vec<_> = (0..130).map(|i| new_message("big", &format!("g{i}"), 400 + i)).collect();
    assert!(s.create_channel("big", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    s.append_messages(big.clone()).await.unwrap();
    let got = s.query_archive(&ArchiveQuery { channel: "big".into(), ..Default::default() }, 200, false).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), big.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
    s.close().await;
}

/// Appends have a connection of their own (`store/direct.rs` for SQLite,
/// `store/appender.rs` for PostgreSQL). An append
/// dropped after its first poll (its caller cancelled) archives all or
/// nothing, and the appends after it work and are seen by the pool's reads.
async fn appends_go_on_after_a_cancelled_append(db: &Db) {
    use futures::FutureExt;
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    let rows = vec![new_message("coven", "x1", 1), new_message("coven", "x2", 2)];
    // Usually still running after one poll; a fast SQLite thread may finish it.
    let _maybe_done = s.append_messages(rows).now_or_never();
    let after = vec![new_message("coven", "y1", 3), new_message("coven", "y2", 4)];
    s.append_messages(after).await.unwrap();
    s.append_message("coven", "y3", 5, "hag66@shakespeare.example", "pid1", "thirdwitch", None, true, "<message xmlns='jabber:client'/>").await.unwrap();
    let coven = ArchiveQuery { channel: "coven".into(), ..Default::default() };
    let ids: Vec<String> = s.query_archive(&coven, 100, false).await.unwrap().into_iter().map(|r| r.id).collect();
    let tail = ["y1", "y2", "y3"];
    assert!(ids == tail || ids == ["x1", "x2", "y1", "y2", "y3"], "all or nothing of the cancelled append, then the others: {ids:?}");
    assert_eq!(s.count_archive(&coven).await.unwrap(), ids.len() as i64);
    s.close().await;
}

/// Migration 5: a MUC session's presence and update time; the MIX presence
/// node's clients, replaced in place, gone with their participant.
async fn presence_of_sessions_and_mix_clients(db: &Db) {
    let s = db.open().await;
    let (jid, full) = ("hag66@shakespeare.example", "hag66@shakespeare.example/broom");
    assert!(s.create_channel("coven", jid, false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    s.ensure_occupant_participant("coven", jid, "pid1", 1).await.unwrap();
    assert!(s.add_occupant("coven", full, jid, 10).await.unwrap());
    let o = &s.list_occupants("coven").await.unwrap()[0];
    assert_eq!((o.presence.as_deref(), o.updated_at), (None, 10), "entering counts as an update");
    assert!(s.set_occupant_presence("coven", full, Some("<presence xmlns='jabber:client'><show>dnd</show></presence>"), 20).await.unwrap());
    let o = &s.list_occupants("coven").await.unwrap()[0];
    assert_eq!((o.presence.as_deref(), o.updated_at), (Some("<presence xmlns='jabber:client'><show>dnd</show></presence>"), 20));
    assert!(!s.set_occupant_presence("coven", "nobody@x/y", None, 30).await.unwrap());

    s.set_mix_presence("coven", "hag66@shakespeare.example/a", jid, "<presence xmlns='jabber:client'/>", 40).await.unwrap();
    s.set_mix_presence("coven", "hag66@shakespeare.example/b", jid, "<presence xmlns='jabber:client'/>", 50).await.unwrap();
    s.set_mix_presence("coven", "hag66@shakespeare.example/a", jid, "<presence xmlns='jabber:client'><show>xa</show></presence>", 60).await.unwrap();
    let clients = s.list_mix_presence("coven").await.unwrap();
    assert_eq!(clients.iter().map(|c| (c.full_jid.as_str(), c.updated_at)).collect::<Vec<_>>(), vec![("hag66@shakespeare.example/b", 50), ("hag66@shakespeare.example/a", 60)]);
    assert_eq!(clients[1].presence, "<presence xmlns='jabber:client'><show>xa</show></presence>");
    assert!(s.remove_mix_presence("coven", "hag66@shakespeare.example/b").await.unwrap());
    assert!(!s.remove_mix_presence("coven", "hag66@shakespeare.example/b").await.unwrap());
    assert!(s.remove_participant("coven", jid).await.unwrap());
    assert!(s.list_mix_presence("coven").await.unwrap().is_empty(), "clients go with their participant");
    s.close().await;
}

/// The idle-session check's rows (migration 9, `seen_at`): entering, a
/// presence and `session_seen` are signs of life (which never move back);
/// `idle_sessions` lists MUC sessions and MIX clients of every channel
/// silent since a time, the longest silent first, at most `limit`.
async fn idle_sessions_longest_silent_first(db: &Db) {
    let s = db.open().await;
    let jid = "hag66@shakespeare.example";
    for name in ["coven", "heath"] {
        assert!(s.create_channel(name, jid, false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
        s.ensure_occupant_participant(name, jid, "pid1", 1).await.unwrap();
    }
    assert!(s.add_occupant("coven", &format!("{jid}/a"), jid, 10).await.unwrap());
    assert!(s.add_occupant("heath", &format!("{jid}/b"), jid, 20).await.unwrap());
    s.set_mix_presence("coven", &format!("{jid}/c"), jid, "<presence xmlns='jabber:client'/>", 15).await.unwrap();
    let idle = |before: i64, limit: usize| {
        let s = s.clone();
        async move { s.idle_sessions(before, limit).await.unwrap().into_iter().map(|r| (r.channel, r.full_jid, r.mix, r.seen_at)).collect::<Vec<_>>() }
    };
    let row = |c: &str, r: &str, mix: bool, at: i64| (c.to_string(), format!("{jid}/{r}"), mix, at);
    assert_eq!(idle(100, 10).await, vec![row("coven", "a", false, 10), row("coven", "c", true, 15), row("heath", "b", false, 20)]);
    assert_eq!(idle(100, 2).await, vec![row("coven", "a", false, 10), row("coven", "c", true, 15)]);
    assert_eq!(idle(15, 10).await, vec![row("coven", "a", false, 10)]);
    // A presence update and a sign of life refresh; an older time changes nothing.
    assert!(s.set_occupant_presence("heath", &format!("{jid}/b"), None, 30).await.unwrap());
    assert!(s.session_seen("coven", &format!("{jid}/a"), 40).await.unwrap());
    assert!(s.session_seen("coven", &format!("{jid}/c"), 35).await.unwrap());
    assert!(!s.session_seen("coven", &format!("{jid}/a"), 5).await.unwrap());
    assert!(!s.session_seen("coven", &format!("{jid}/nobody"), 50).await.unwrap());
    assert_eq!(idle(100, 10).await, vec![row("heath", "b", false, 30), row("coven", "c", true, 35), row("coven", "a", false, 40)]);
    assert!(idle(30, 10).await.is_empty());
    s.close().await;
}

/// A fresh database has no schema version; opening applies every migration;
/// opening again applies nothing and changes nothing.
async fn migrations_apply_and_are_idempotent(db: &Db) {
    let bare = Store::connect(&db.cfg).await.expect("connect");
    assert_eq!(bare.schema_version().await, None, "a fresh database has no schema version");
    let first = bare.migrate().await.expect("first migration");
    assert_eq!(first.before, None);
    assert!(first.after >= 1, "{first:?}");
    assert_eq!(bare.schema_version().await, Some(first.after));
    let again = bare.migrate().await.expect("second migration on the same pool");
    assert_eq!(again.before, Some(first.after));
    assert_eq!(again.after, first.after);
    bare.close().await;

    // Open twice more (each open migrates) and use it.
    for _ in 0..2 {
        let s = db.open().await;
        assert_eq!(s.schema_version().await, Some(first.after));
        assert!(s.list_channels().await.unwrap().is_empty());
        s.close().await;
    }
    // Exactly one bookkeeping row per migration.
    let mut raw = db.raw().await;
    // (Versions may have gaps while branches that add migrations are merged:
    // count the migration files, not the version number.)
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))).count() as i64;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&mut raw).await.unwrap();
    assert_eq!(rows, files, "one row per applied migration");
    let newest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&mut raw).await.unwrap();
    assert_eq!(newest, first.after, "the newest migration is applied");
    raw.close().await.unwrap();
}

async fn create_get_list_delete(db: &Db) {
    let s = db.open().await;
    assert_eq!(s.get_channel("coven").await.unwrap(), None);
    assert!(s.list_channels().await.unwrap().is_empty());
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1_700_000_000_123).await.unwrap());
    assert!(s.create_channel("a1b2c345", "hag01@shakespeare.example", true, mixmuc::store::JidVisibility::Visible, 1_700_000_000_456).await.unwrap());
    assert!(s.create_channel("banquet", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());

    let c = s.get_channel("coven").await.unwrap().expect("coven exists");
    assert_eq!(c.name, "coven");
    assert_eq!(c.creator, "hag66@shakespeare.example");
    assert_eq!(c.created_at, 1_700_000_000_123);
    assert!(!c.adhoc);
    assert_eq!((c.title.as_str(), c.description.as_str(), c.subject.as_str(), c.subject_by.as_str()), ("", "", "", ""));
    let a = s.get_channel("a1b2c345").await.unwrap().expect("ad-hoc exists");
    assert!(a.adhoc);
    assert_eq!(a.created_at, 1_700_000_000_456);

    let names: Vec<String> = s.list_channels().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["a1b2c345", "banquet", "coven"], "listed by name");
    assert_eq!(s.list_channels().await.unwrap().into_iter().find(|r| r.name == "coven").unwrap(), c);

    assert!(s.delete_channel("coven", true).await.unwrap());
    assert_eq!(s.get_channel("coven").await.unwrap(), None);
    assert!(!s.delete_channel("coven", true).await.unwrap(), "deleting twice");
    assert!(!s.delete_channel("nosuch", false).await.unwrap());
    let names: Vec<String> = s.list_channels().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["a1b2c345", "banquet"]);

    // The name is free again, for someone else.
    assert!(s.create_channel("coven", "hag01@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 2).await.unwrap());
    assert_eq!(s.get_channel("coven").await.unwrap().unwrap().creator, "hag01@shakespeare.example");
    s.close().await;
}

async fn duplicate_create_returns_false(db: &Db) {
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 10).await.unwrap());
    assert!(!s.create_channel("coven", "hag01@shakespeare.example", true, mixmuc::store::JidVisibility::Visible, 20).await.unwrap());
    let c = s.get_channel("coven").await.unwrap().unwrap();
    assert_eq!((c.creator.as_str(), c.created_at, c.adhoc), ("hag66@shakespeare.example", 10, false), "unchanged");
    assert_eq!(s.get_affiliation("coven", "hag01@shakespeare.example").await.unwrap(), None, "the loser got no affiliation");
    assert_eq!(s.list_channels().await.unwrap().len(), 1);
    s.close().await;
}

async fn creator_becomes_owner(db: &Db) {
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    assert_eq!(s.get_affiliation("coven", "hag66@shakespeare.example").await.unwrap().as_deref(), Some("owner"));
    assert_eq!(s.get_affiliation("coven", "hag01@shakespeare.example").await.unwrap(), None);
    assert_eq!(s.get_affiliation("nosuch", "hag66@shakespeare.example").await.unwrap(), None);
    // Deleting the channel takes its affiliations along; a new channel of
    // the same name starts with its own owner only.
    assert!(s.delete_channel("coven", false).await.unwrap());
    assert_eq!(s.get_affiliation("coven", "hag66@shakespeare.example").await.unwrap(), None);
    assert!(s.create_channel("coven", "hag01@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 2).await.unwrap());
    assert_eq!(s.get_affiliation("coven", "hag01@shakespeare.example").await.unwrap().as_deref(), Some("owner"));
    assert_eq!(s.get_affiliation("coven", "hag66@shakespeare.example").await.unwrap(), None);
    s.close().await;
}

async fn data_survives_reopening(db: &Db) {
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 42).await.unwrap());
    assert!(s.create_channel("a1b2c345", "hag66@shakespeare.example", true, mixmuc::store::JidVisibility::Visible, 43).await.unwrap());
    let before = s.list_channels().await.unwrap();
    let version = s.schema_version().await;
    s.close().await;
    drop(s);

    let s = db.open().await;
    assert_eq!(s.list_channels().await.unwrap(), before);
    assert_eq!(s.schema_version().await, version);
    assert_eq!(s.get_affiliation("coven", "hag66@shakespeare.example").await.unwrap().as_deref(), Some("owner"));
    s.close().await;
    if let Some(dir) = &db.dir {
        assert!(dir.path().join("mixmuc.db").is_file(), "the SQLite file is where the URL says");
    }
}

/// A database migrated by a newer mixmuc is refused, not modified.
async fn newer_database_is_refused(db: &Db) {
    let s = db.open().await;
    let known = s.schema_version().await.expect("migrated");
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    s.close().await;

    let mut raw = db.raw().await;
    let insert = match db.backend {
        Backend::Sqlite => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, X'00', 0)"
        }
        Backend::Postgres => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, '\\x00'::bytea, 0)"
        }
    };
    raw.execute(insert).await.expect("inserting the future migration row");
    raw.close().await.unwrap();

    match Store::open(&db.cfg).await {
        Err(StoreError::TooNew { found, known: k }) => {
            assert_eq!(found, 999);
            assert_eq!(k, known);
            let shown = StoreError::TooNew { found, known: k }.to_string();
            assert!(shown.contains("999"), "{shown}");
        }
        Err(other) => panic!("expected TooNew, got {other}"),
        Ok(_) => panic!("a database newer than the code was opened"),
    }
    // Nothing was touched: the data is still there for the newer mixmuc.
    let bare = Store::connect(&db.cfg).await.unwrap();
    assert_eq!(bare.schema_version().await, Some(999));
    assert!(bare.get_channel("coven").await.unwrap().is_some());
    bare.close().await;
}

/// Names and JIDs come back byte for byte (non-ASCII, quotes).
async fn names_are_kept_exactly(db: &Db) {
    let s = db.open().await;
    for (name, creator) in [("café", "ægir@hav.example"), ("o'neil", "d'artagnan@example.org"), ("коven", "ведьма@example.ru")] {
        assert!(s.create_channel(name, creator, false, mixmuc::store::JidVisibility::Visible, 7).await.unwrap(), "{name}");
        let c = s.get_channel(name).await.unwrap().unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!((c.name.as_str(), c.creator.as_str()), (name, creator));
        assert_eq!(s.get_affiliation(name, creator).await.unwrap().as_deref(), Some("owner"));
    }
    assert_eq!(s.get_channel("cafe").await.unwrap(), None, "no accent folding in the store");
    s.close().await;
}

// ---------------------------------------------------------------- SQLite only

/// `sqlite://` with a folder that does not exist: the folder and the file
/// are created.
#[tokio::test]
async fn sqlite_folder_is_created_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not").join("yet").join("there").join("mixmuc.db");
    assert!(!path.parent().unwrap().exists());
    let cfg = StoreConfig { url: format!("sqlite://{}", path.display()), ..StoreConfig::default() };
    let s = Store::open(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    s.close().await;
    assert!(path.is_file(), "{} was not created", path.display());
}

/// The checkpoint sequence number in a SQLite write-ahead log's header
/// (bytes 12–15): SQLite adds one each time the log starts again from its
/// beginning, which it does only once the log has been wholly copied into
/// the database file.
fn wal_restarts(path: &std::path::Path) -> u32 {
    let head = std::fs::read(path).map(|b| b[..32.min(b.len())].to_vec()).unwrap_or_default();
    head.get(12..16).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The write-ahead log stays short under a stream of archived messages:
/// once it passes 4,000 pages the checkpoint thread (store/checkpoint.rs)
/// copies it into the database and the log starts again. This writes 6,000
/// to 8,000 pages, below the 16,000 at which the appender would checkpoint by
/// itself; without the thread (or with a statement that never ends its
/// transaction, as when an insert used `RETURNING` through fetch_one) the
/// log would only grow. The unit test in store/direct.rs covers the
/// appender's own checkpoint.
#[tokio::test]
async fn sqlite_wal_restarts_while_archiving() {
    let db = Db::sqlite();
    let s = db.open().await;
    let wal = db.dir.as_ref().unwrap().path().join("mixmuc.db-wal");
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    let payload = format!("<message xmlns='jabber:client'><body>{}</body></message>", "x".repeat(3_000));
    s.append_message("coven", "id-0", 1_000, "hag66@shakespeare.example", "p1", "hag66", None, true, &payload).await.unwrap();
    let restarts = wal_restarts(&wal);
    for i in 1..200 {
        s.append_message("coven", &format!("id-{i}"), 1_000 + i, "hag66@shakespeare.example", "p1", "hag66", None, true, &payload)
            .await
            .unwrap();
    }
    // And as the dispatcher's batches (`append_messages`): a page per row at least.
    let batch = |b: i64| -> Vec<NewMessage> {
        (0..8).map(|i| NewMessage { payload: payload.clone(), ..new_message("coven", &format!("batch-{b}-{i}"), 5_000 + b * 8 + i) }).collect()
    };
    // About 18 pages each.
    for b in 0..300 {
        s.append_messages(batch(b)).await.unwrap();
    }
    // Then a batch every 50 ms, until the log starts again (at most 5 s).
    let mut b = 300;
    while wal_restarts(&wal) == restarts {
        assert!(b < 400, "the log never started again ({} pages)", std::fs::metadata(&wal).map(|m| m.len() / 4120).unwrap_or(0));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.append_messages(batch(b)).await.unwrap();
        b += 1;
    }
    s.close().await;
}

/// SQLite's appends (`store/direct.rs`) never sleep on the write lock on
/// the runtime's thread: while another connection holds it, the append
/// waits on the runtime and goes through once the lock is released.
#[tokio::test]
async fn sqlite_append_waits_for_another_writer() {
    let db = Db::sqlite();
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Visible, 1).await.unwrap());
    let mut other = db.raw().await;
    other.execute("BEGIN IMMEDIATE").await.expect("write lock");
    other.execute("INSERT INTO affiliations (channel, jid, affiliation) VALUES ('coven', 'crone1@shakespeare.example', 'member')").await.expect("write");
    let rows = vec![new_message("coven", "w1", 1), new_message("coven", "w2", 2)];
    let append = async {
        let r = s.append_messages(rows).await;
        (r, std::time::Instant::now())
    };
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let at = std::time::Instant::now();
        other.execute("COMMIT").await.expect("commit");
        at
    };
    let ((appended, done_at), released_at) = tokio::join!(append, release);
    appended.expect("the append goes through once the lock is free");
    assert!(done_at >= released_at, "the append finished before the other writer let go");
    let coven = ArchiveQuery { channel: "coven".into(), ..Default::default() };
    assert_eq!(s.query_archive(&coven, 10, false).await.unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["w1", "w2"]);
    assert_eq!(s.count_archive(&coven).await.unwrap(), 2);
    s.close().await;
}

/// A URL of no known backend is refused by name.
#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let cfg = StoreConfig { url: "mysql://localhost/x".into(), ..StoreConfig::default() };
    match Store::open(&cfg).await {
        Err(StoreError::Url(u)) => assert!(u.contains("mysql://"), "{u}"),
        Err(e) => panic!("expected Url, got {e}"),
        Ok(_) => panic!("opened a mysql URL"),
    }
}

/// PostgreSQL half: its schema is really dropped afterwards.
#[tokio::test]
async fn postgres_test_schema_is_dropped() {
    let Some(db) = Db::postgres("dropcheck") else { return };
    let name = db.cfg.schema.clone().unwrap();
    let url = db.cfg.url.clone();
    db.open().await.close().await;
    drop(db);
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1")
        .bind(&name)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 0, "schema {name} left behind");
    c.close().await.unwrap();
}

/// A TCP relay between the store and PostgreSQL that can be cut (every
/// relayed connection closed, new ones refused) and opened again on the
/// same port: a PostgreSQL outage without stopping the shared server.
struct Relay {
    port: u16,
    target: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn open(port: u16, target: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("relay port");
        let port = listener.local_addr().expect("relay address").port();
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (t, tasks2) = (target.to_string(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let t = t.clone();
                tasks2.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&t).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { port, target: target.to_string(), tasks }
    }

    /// Closes the listener and every relayed connection.
    async fn cut(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// A PostgreSQL outage (docs/security.md "Store outages"): the first
/// request waits at most the acquire timeout, the next are refused at once
/// with `Unavailable`, and when the database is reachable again the store
/// serves by itself; the outage's start and end each move the epoch the
/// channel cache follows.
#[tokio::test]
async fn postgres_outage_is_refused_at_once_and_ends_by_itself() {
    use mixmuc::error::Error;
    use std::time::{Duration, Instant};
    let Some(mut db) = Db::postgres("outage") else { return };
    let hostport = db.cfg.url.split('@').nth(1).and_then(|r| r.split('/').next()).expect("host:port in MIXMUC_TEST_PG_URL").to_string();
    let relay = Relay::open(0, &hostport).await;
    db.cfg.url = db.cfg.url.replacen(&hostport, &format!("127.0.0.1:{}", relay.port), 1);
    db.cfg.acquire_timeout_ms = 500;
    let s = db.open().await;
    assert!(s.create_channel("coven", "hag66@shakespeare.example", false, mixmuc::store::JidVisibility::Hidden, 1).await.unwrap());
    let health = s.health();
    let epoch = health.epoch();
    assert!(!health.is_down());

    relay.cut().await;
    let t = Instant::now();
    assert!(s.get_channel("coven").await.is_err(), "the database is out of reach");
    assert!(t.elapsed() < Duration::from_millis(2000), "the first request waits about the acquire timeout, took {:?}", t.elapsed());
    assert!(health.is_down());
    let t = Instant::now();
    for _ in 0..10 {
        assert!(matches!(s.get_channel("coven").await, Err(Error::Unavailable)));
    }
    assert!(t.elapsed() < Duration::from_millis(100), "refused at once while down, took {:?}", t.elapsed());

    let _back = Relay::open(relay.port, &relay.target).await;
    let t = Instant::now();
    while health.is_down() {
        assert!(t.elapsed() < Duration::from_secs(5), "the store did not come back by itself");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(health.epoch(), epoch + 2, "one move when it went, one when it came back");
    assert_eq!(s.get_channel("coven").await.unwrap().expect("still there").name, "coven");
    s.close().await;
    _back.cut().await;
}
