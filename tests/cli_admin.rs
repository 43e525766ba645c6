//! The host's commands (`mixmuc admin …`, `mixmuc backup`), run as the
//! built binary against a store seeded through the library: the channels
//! made by stanzas handled by `Service::handle`, as the golden tests do.
//!
//! SQLite always; PostgreSQL when `MIXMUC_TEST_PG_URL` names a database
//! (each test in a schema of its own, dropped at the end). Without it the
//! PostgreSQL tests warn loudly and pass as skips, or fail when `CI=true`
//! (as tests/store_suite.rs).

mod common;
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{config_toml, stanza, HAG01, HAG66, HAG66_BARE, HECATE_BARE, MIX, ROOM};
use mixmuc::config::Config;
use mixmuc::service::Service;
use mixmuc::store::{ServingLock, Store};
use pg::{pg_url, PgSchema};
use sqlx::{AnyConnection, Connection, Executor};

/// Messages hag66 writes to coven, and to the other channel.
const COVEN_MESSAGES: usize = 5;
const OTHER_MESSAGES: usize = 2;

/// A store seeded with two channels, and the configuration file the binary
/// reads it through.
struct Bed {
    dir: tempfile::TempDir,
    config_path: PathBuf,
    cfg: Config,
    store: Store,
    /// The SQLite file (None on PostgreSQL).
    db: Option<PathBuf>,
    _schema: Option<PgSchema>,
}

impl Bed {
    async fn sqlite() -> Bed {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = dir.path().join("data").join("mixmuc.db");
        let store_toml = format!("[store]\nurl = \"sqlite://{}\"\n", db.display());
        Self::with(dir, &store_toml, Some(db), None).await
    }

    /// None (after a warning) without `MIXMUC_TEST_PG_URL`.
    async fn postgres(case: &str) -> Option<Bed> {
        let url = pg_url("the admin CLI tests")?;
        let schema = format!("mxcli_{}_{case}", std::process::id());
        let store_toml = format!("[store]\nurl = \"{url}\"\nschema = \"{schema}\"\n");
        let guard = PgSchema { url, name: schema };
        Some(Self::with(tempfile::tempdir().expect("temporary folder"), &store_toml, None, Some(guard)).await)
    }

    async fn with(dir: tempfile::TempDir, store_toml: &str, db: Option<PathBuf>, schema: Option<PgSchema>) -> Bed {
        let text = config_toml(store_toml);
        let config_path = dir.path().join("mixmuc.toml");
        std::fs::write(&config_path, &text).expect("writing the configuration");
        let cfg = Config::from_toml(&text).expect("configuration");
        let store = Store::open(&cfg.store).await.expect("opening the store");
        let service = Service::new(&cfg, store.clone());
        seed(&service, &store).await;
        Bed { dir, config_path, cfg, store, db, _schema: schema }
    }

    /// Runs `mixmuc ARGS --config <bed's>` in the bed's folder.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mixmuc"))
            .args(args)
            .arg("--config")
            .arg(&self.config_path)
            .current_dir(self.dir.path())
            .env("MIXMUC_LOG__FILTER", "warn")
            .output()
            .expect("running mixmuc")
    }

    /// A connection of the test's own on the bed's database.
    async fn raw(&self) -> AnyConnection {
        raw(&self.cfg).await
    }
}

async fn raw(cfg: &Config) -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match &cfg.store.schema {
        Some(_) => cfg.store.url.clone(),
        None => format!("{}?mode=rw", cfg.store.url),
    };
    let mut c = AnyConnection::connect(&url).await.expect("a raw connection");
    if let Some(s) = &cfg.store.schema {
        c.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}"))).await.expect("search_path");
    }
    c
}

async fn send(service: &Arc<Service>, xml: &str) -> Vec<xmpp_parsers::minidom::Element> {
    service.handle(stanza(xml)).await.iter().map(common::to_element).collect()
}

/// coven: created through MIX by hag66, hag66 and hag01 in the room
/// through MUC, hecate joined through MIX, `COVEN_MESSAGES` messages, a
/// nick registered in it, an avatar; other: created by hecate, with
/// `OTHER_MESSAGES` messages; a nick registered with the whole service.
async fn seed(service: &Arc<Service>, store: &Store) {
    let mix_ns = "urn:xmpp:mix:core:1";
    for (id, from, name) in [("c1", HAG66, "coven"), ("c2", "hecate@shakespeare.example/x", "other")] {
        let out = send(service, &format!("<iq type='set' id='{id}' from='{from}' to='{MIX}'><create xmlns='{mix_ns}' channel='{name}'/></iq>")).await;
        assert_eq!(out[0].attr("type"), Some("result"), "creating {name}");
    }
    for (full, nick) in [(HAG66, "thirdwitch"), (HAG01, "firstwitch")] {
        let out = send(service, &format!("<presence from='{full}' to='{ROOM}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "{nick} entering");
    }
    let join = format!("<iq type='set' id='j1' from='{HECATE_BARE}' to='coven@{MIX}'><join xmlns='{mix_ns}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>");
    assert!(send(service, &join).await.iter().any(|e| e.attr("type") == Some("result")), "hecate's join");
    for i in 0..COVEN_MESSAGES {
        let out = send(service, &format!("<message type='groupchat' id='m{i}' from='{HAG66}' to='{ROOM}'><body>coven {i}</body></message>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "message {i}");
    }
    let join = format!("<iq type='set' id='j2' from='{HECATE_BARE}' to='other@{MIX}'><join xmlns='{mix_ns}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>");
    assert!(send(service, &join).await.iter().any(|e| e.attr("type") == Some("result")), "hecate's join of other");
    for i in 0..OTHER_MESSAGES {
        let out = send(service, &format!("<message type='groupchat' id='o{i}' from='hecate@shakespeare.example/x' to='other@{MIX}'><body>other {i}</body></message>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "other message {i}");
    }
    store.register_nick("coven", HAG01, "firstwitch", "firstwitch").await.expect("a nick registered in coven");
    store.register_nick(mixmuc::store::SERVICE_SCOPE, HECATE_BARE, "hecate", "hecate").await.expect("a nick registered with the service");
    store.set_avatar("coven", Some(("image/png", "iVBORw0KGgo=", "0123456789abcdef0123456789abcdef01234567"))).await.expect("an avatar");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The row of `name` in `admin channels`' table, split at whitespace.
fn table_row(stdout: &str, name: &str) -> Vec<String> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{stdout}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Rows naming `channel` in every table that has a `channel` column
/// (as the database says, so a table added later is checked too).
async fn rows_of(c: &mut AnyConnection, sqlite: bool, channel: &str) -> Vec<(String, i64)> {
    let tables: Vec<String> = if sqlite {
        sqlx::query_scalar("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'channel' ORDER BY m.name")
            .fetch_all(&mut *c)
            .await
            .expect("tables")
    } else {
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'channel' ORDER BY 1")
            .fetch_all(&mut *c)
            .await
            .expect("tables")
    };
    assert!(tables.len() >= 8, "tables with a channel column: {tables:?}");
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t} WHERE channel = $1"))).bind(channel).fetch_one(&mut *c).await.expect("count");
        out.push((t, n));
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE name = $1").bind(channel).fetch_one(&mut *c).await.expect("count");
    out.push(("channels".into(), n));
    out
}

// ------------------------------------------------------------ the cases, both backends

async fn channels_lists_each_with_its_counts(bed: &Bed) {
    let out = bed.run(&["admin", "channels"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "admin channels failed: {}", text(&out.stderr));
    let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "PARTICIPANTS", "OCCUPANTS", "MESSAGES", "LAST", "ACTIVITY"]);
    // hag66 and hag01 through MUC, hecate through MIX; two MUC sessions.
    let coven = table_row(&stdout, "coven");
    assert_eq!(coven[1..4], ["3", "2", &COVEN_MESSAGES.to_string()], "{stdout}");
    let other = table_row(&stdout, "other");
    assert_eq!(other[1..4], ["1", "0", &OTHER_MESSAGES.to_string()], "{stdout}");
    // The last message is from a moment ago.
    let today = today();
    assert!(coven[4] >= today, "last activity {} (today {today})", coven[4]);
    assert!(stdout.contains("2 channels"), "{stdout}");
    // Nothing holds the serving lock: no note.
    assert!(!text(&out.stderr).contains("running"), "{}", text(&out.stderr));
}

/// Today's date (UTC) as `admin channels` writes it.
fn today() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    chrono::DateTime::from_timestamp_millis(now).unwrap().format("%Y-%m-%d").to_string()
}

async fn show_prints_settings_affiliations_and_counts(bed: &Bed) {
    let out = bed.run(&["admin", "show", "coven"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "admin show failed: {}", text(&out.stderr));
    let field = |k: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(k).filter(|rest| rest.starts_with(' ')).map(|rest| rest.trim().to_string()))
            .unwrap_or_else(|| panic!("no {k:?} in:\n{stdout}"))
    };
    assert_eq!(field("MIX JID"), format!("coven@{MIX}"));
    assert_eq!(field("MUC JID"), ROOM);
    assert!(field("created").ends_with(&format!("by {HAG66_BARE}")), "{stdout}");
    assert_eq!(field("owner"), HAG66_BARE);
    assert_eq!(field("participants"), "3 (1 through MIX)");
    assert_eq!(field("occupants"), "2");
    assert_eq!(field("registered nicks"), "1");
    assert_eq!(field("messages"), COVEN_MESSAGES.to_string());
    assert_eq!(field("avatar"), "sha1 0123456789abcdef0123456789abcdef01234567");
    assert!(stdout.contains("affiliations (1)"), "{stdout}");

    // Named as in XMPP, or by either JID: the same channel.
    for name in ["Coven", &format!("coven@{MIX}"), ROOM] {
        let again = bed.run(&["admin", "show", name]);
        assert!(again.status.success(), "{name}: {}", text(&again.stderr));
        assert_eq!(text(&again.stdout), stdout, "{name}");
    }
    let out = bed.run(&["admin", "show", "coven@elsewhere.example"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a channel of this service"), "{}", text(&out.stderr));

    let out = bed.run(&["admin", "show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no channel named 'nosuch'"), "{}", text(&out.stderr));
}

/// While the serving lock is held (as `mixmuc serve` holds it), `admin
/// destroy` refuses with status 3 and changes nothing; reading works, with
/// a note; released, the destroy removes every row of the channel and
/// nothing of the other.
async fn destroy_refused_while_serving_then_complete(bed: &Bed) {
    let sqlite = bed.db.is_some();
    let serving = ServingLock::serve(&bed.cfg.store).await.expect("the serving lock");
    let out = bed.run(&["admin", "destroy", "coven", "--reason", "spam"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stdout {} stderr {stderr}", text(&out.stdout));
    assert!(stderr.contains("the service is running") && stderr.contains("stop it"), "{stderr}");
    assert!(bed.store.get_channel("coven").await.unwrap().is_some(), "coven destroyed while refused");
    let out = bed.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(3), "migrate while serving: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the service is running"), "{}", text(&out.stderr));

    let out = bed.run(&["admin", "channels"]);
    assert!(out.status.success(), "admin channels while serving: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the service is running"), "no note: {}", text(&out.stderr));
    table_row(&text(&out.stdout), "coven");

    let mut c = bed.raw().await;
    let before = rows_of(&mut c, sqlite, "coven").await;
    for table in ["archive", "participants", "occupants", "affiliations", "registered_nicks", "avatars", "channels"] {
        assert!(before.iter().any(|(t, n)| t == table && *n > 0), "seeding left {table} empty: {before:?}");
    }
    let other_before = rows_of(&mut c, sqlite, "other").await;
    serving.release().await;

    let out = bed.run(&["migrate"]);
    let version = mixmuc::store::known_version();
    assert!(out.status.success(), "migrate once stopped: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("schema version {version} (was {version})\n"));
    let out = bed.run(&["admin", "destroy", "coven", "--reason", "spam"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "destroy once stopped: {}", text(&out.stderr));
    assert!(stdout.contains(&format!("its archive of {COVEN_MESSAGES} messages removed")), "{stdout}");
    assert!(stdout.contains("3 participants (1 through MIX), 2 MUC sessions"), "{stdout}");
    let after = rows_of(&mut c, sqlite, "coven").await;
    assert!(after.iter().all(|(_, n)| *n == 0), "left behind: {after:?}");
    assert_eq!(rows_of(&mut c, sqlite, "other").await, other_before, "the other channel was touched");
    let service_nicks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registered_nicks WHERE channel = ''").fetch_one(&mut c).await.unwrap();
    assert_eq!(service_nicks, 1, "a nick registered with the service went with the channel");

    let out = bed.run(&["admin", "destroy", "coven"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no channel named 'coven'"), "{}", text(&out.stderr));
    let _ = c.close().await;
}

/// `admin ban`: refused while serving; once stopped, a whole domain is
/// banned and its users leave every channel (hecate of
/// shakespeare.example was in both, hag66 and hag01 of the same domain
/// in coven); the service, started again on the store, refuses them in
/// both views; `admin unban` lifts it. A service admin cannot be banned.
async fn ban_refused_while_serving_then_holds_in_both_views(bed: &Bed) {
    let serving = ServingLock::serve(&bed.cfg.store).await.expect("the serving lock");
    let out = bed.run(&["admin", "ban", HECATE_BARE, "--reason", "spam"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Ban from the service"), "{}", text(&out.stderr));
    assert!(!bed.store.service_banned(HECATE_BARE, "shakespeare.example").await.unwrap());
    serving.release().await;

    let out = bed.run(&["admin", "ban", "shakespeare.example", "--reason", "spam wave"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "ban once stopped: {}", text(&out.stderr));
    assert!(stdout.starts_with("banned shakespeare.example from the whole service"), "{stdout}");
    assert!(stdout.contains(&format!("{HECATE_BARE} in other")) && stdout.contains(&format!("{HAG66_BARE} in coven")), "{stdout}");
    assert!(bed.store.service_banned(HECATE_BARE, "shakespeare.example").await.unwrap());
    for channel in ["coven", "other"] {
        let left = bed.store.list_participants(channel).await.unwrap();
        assert!(left.iter().all(|p| !p.jid.ends_with("@shakespeare.example")), "{channel}: {left:?}");
        assert!(bed.store.list_occupants(channel).await.unwrap().iter().all(|o| !o.jid.ends_with("@shakespeare.example")));
    }
    // The service on this store: both views refuse a user of that domain.
    let service = Service::new(&bed.cfg, bed.store.clone());
    let out = send(&service, &format!("<presence from='{HAG01}' to='{ROOM}/again'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    let error = out.iter().find(|e| e.attr("type") == Some("error")).unwrap_or_else(|| panic!("{out:?}"));
    assert!(error.children().any(|c| c.name() == "error" && c.children().any(|d| d.name() == "forbidden")), "{error:?}");
    let join = format!("<iq type='set' id='jb' from='{HECATE_BARE}' to='other@{MIX}'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>");
    let out = send(&service, &join).await;
    assert_eq!(out[0].attr("type"), Some("error"), "{out:?}");

    let out = bed.run(&["admin", "ban", "romeo@montague.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("it was in no channel"), "{}", text(&out.stdout));
    let out = bed.run(&["admin", "unban", "shakespeare.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!bed.store.service_banned(HECATE_BARE, "shakespeare.example").await.unwrap());
    let out = bed.run(&["admin", "unban", "shakespeare.example"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not banned"), "{}", text(&out.stderr));
    let out = bed.run(&["admin", "ban", "not a jid@"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let bed = super::Bed::sqlite().await;
                    super::$case(&bed).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(bed) = super::Bed::postgres(stringify!($case)).await else { return };
                    super::$case(&bed).await;
                }
            )*
        }
    };
}

both!(
    channels_lists_each_with_its_counts,
    show_prints_settings_affiliations_and_counts,
    destroy_refused_while_serving_then_complete,
    ban_refused_while_serving_then_holds_in_both_views
);

// ------------------------------------------------------------ SQLite only

/// `backup`: a copy with the same archive, read back; an existing file is
/// refused unless `--force`.
#[tokio::test]
async fn backup_copies_and_keeps_an_existing_file() {
    let bed = Bed::sqlite().await;
    let dest = bed.dir.path().join("copy.db");
    let out = bed.run(&["backup", dest.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "backup: {}", text(&out.stderr));
    let total = COVEN_MESSAGES + OTHER_MESSAGES;
    assert!(stdout.contains(&format!("schema version {}", mixmuc::store::known_version())), "{stdout}");
    assert!(stdout.contains(&format!("2 channels, {total} archive rows")), "{stdout}");
    let size = std::fs::metadata(&dest).unwrap().len();
    assert!(stdout.contains(&format!("{size} bytes")), "{stdout}");
    let copy = archive_of(&dest).await;
    let mut c = bed.raw().await;
    let original: Vec<(i64, String, String)> = sqlx::query_as("SELECT seq, id, payload FROM archive ORDER BY seq").fetch_all(&mut c).await.unwrap();
    assert_eq!(copy, original);
    assert_eq!(copy.len(), total);
    let _ = c.close().await;

    std::fs::write(&dest, b"keep me").unwrap();
    let out = bed.run(&["backup", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("exists; pass --force"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");
    let out = bed.run(&["backup", "--force", dest.to_str().unwrap()]);
    assert!(out.status.success(), "backup --force: {}", text(&out.stderr));
    assert_eq!(archive_of(&dest).await.len(), total);
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(bed.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
    // The database itself is not a backup's target, even with --force.
    let db = bed.db.as_ref().unwrap();
    let out = bed.run(&["backup", "--force", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(archive_of(db).await.len(), total);
}

async fn archive_of(path: &Path) -> Vec<(i64, String, String)> {
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await.expect("opening the copy");
    let rows = sqlx::query_as("SELECT seq, id, payload FROM archive ORDER BY seq").fetch_all(&mut c).await.expect("the copy's archive");
    let _ = c.close().await;
    rows
}

/// A second `mixmuc serve` on a SQLite store in use is refused (after a
/// short wait), saying why.
#[tokio::test]
async fn second_service_on_one_sqlite_file_is_refused() {
    let bed = Bed::sqlite().await;
    let serving = ServingLock::serve(&bed.cfg.store).await.expect("the serving lock");
    let started = std::time::Instant::now();
    let out = bed.run(&["serve"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("another process is using the SQLite store") && stderr.contains("mixmuc.db.lock"), "{stderr}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(4), "refused without waiting for a short admin command");
    serving.release().await;
}

/// Every command says what to do when its configuration file is missing;
/// the store commands say where they looked for a missing SQLite file
/// (relative to the working directory) instead of creating one.
#[test]
fn missing_configuration_and_missing_store_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["admin", "channels"][..], &["backup", "x.db"], &["serve"], &["migrate"], &["check-config"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_mixmuc")).args(args).current_dir(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("config/mixmuc.toml not found") && stderr.contains("copy config/mixmuc.example.toml"), "{args:?}: {stderr}");
    }
    std::fs::write(dir.path().join("m.toml"), config_toml("[store]\nurl = \"sqlite://data/mixmuc.db\"\n")).unwrap();
    for args in [&["admin", "channels"][..], &["admin", "destroy", "coven"], &["backup", "x.db"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_mixmuc")).args(args).args(["--config", "m.toml"]).current_dir(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        let expected = dir.path().join("data/mixmuc.db");
        assert!(stderr.contains(&expected.display().to_string()) && stderr.contains("working directory"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("data").exists(), "a store command created the store's folder");
}

// ------------------------------------------------------------ PostgreSQL only

/// Two services share a PostgreSQL store (the lock is shared), and either
/// keeps `admin destroy` out; `backup` points to pg_dump.
#[tokio::test]
async fn postgres_services_share_the_lock_and_backup_points_to_pg_dump() {
    let Some(bed) = Bed::postgres("share").await else { return };
    let first = ServingLock::serve(&bed.cfg.store).await.expect("first service");
    let second = ServingLock::serve(&bed.cfg.store).await.expect("a second service on the same PostgreSQL store");
    first.release().await;
    let out = bed.run(&["admin", "destroy", "coven"]);
    assert_eq!(out.status.code(), Some(3), "one service still runs: {}", text(&out.stderr));
    second.release().await;
    let out = bed.run(&["backup", "x.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("pg_dump"), "{}", text(&out.stderr));
    assert!(!bed.dir.path().join("x.db").exists());
    // Another schema's store is not locked by this one's service.
    let other = Config::from_toml(&config_toml(&format!("[store]\nurl = \"{}\"\nschema = \"{}_b\"\n", bed.cfg.store.url, bed.cfg.store.schema.as_deref().unwrap()))).unwrap();
    let serving = ServingLock::serve(&bed.cfg.store).await.unwrap();
    assert!(!ServingLock::is_held(&other.store).await.unwrap());
    assert!(ServingLock::is_held(&bed.cfg.store).await.unwrap());
    serving.release().await;
}

/// A database restart ends the service's lock session: the service takes
/// the lock again on a new connection (`ServingLock::keep`), so `admin
/// destroy` keeps seeing it; once it stops, the lock is gone.
#[tokio::test]
async fn postgres_lock_is_taken_again_after_its_session_ends() {
    let Some(bed) = Bed::postgres("retake").await else { return };
    let (class, key) = mixmuc::store::advisory_key(bed.cfg.store.schema.as_deref());
    let mut c = bed.raw().await;
    let sql = format!("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = {} AND objid = {} AND objsubid = 2 AND granted", class as u32, key as u32);
    let lock = ServingLock::serve(&bed.cfg.store).await.expect("the serving lock");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let keeper = tokio::spawn(lock.keep(stopped));
    let first = holders(&mut c, &sql).await;
    assert_eq!(first.len(), 1, "one session holds the lock: {first:?}");
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(first[0]).fetch_one(&mut c).await.expect("terminating");
    assert!(ended);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    let again = loop {
        let now = holders(&mut c, &sql).await;
        if !now.is_empty() && now != first {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the lock was not taken again (holders {now:?})");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(again.len(), 1);
    let out = bed.run(&["admin", "destroy", "coven"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    stop.send(true).unwrap();
    keeper.await.unwrap();
    assert!(holders(&mut c, &sql).await.is_empty(), "the lock outlived its service");
    let _ = c.close().await;
}

/// The sessions holding a lock, as `sql` asks `pg_locks`.
async fn holders(c: &mut AnyConnection, sql: &str) -> Vec<i32> {
    sqlx::query_scalar::<_, i32>(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(c).await.expect("pg_locks")
}

