//! S4, the history benchmark: one channel with many archived messages, then
//! MAM queries as the component receives them: `<iq type='set'>` stanzas with
//! a `<query xmlns='urn:xmpp:mam:2'/>` to the channel's JID on the MUC or MIX
//! domain, handed to `Service::handle` (the router, then the view's MAM
//! handler: parse, access check, paging engine, store queries, rendering).
//!
//!   mixmuc-bench-mam --store sqlite:///tmp/s4.db --messages 1000000 --out s4-sqlite.json
//!   mixmuc-bench-mam --store postgres://postgres@127.0.0.1:5432/test --schema s4bench --drop-schema ...
//!
//! The channel is created, joined and posted to through `Service::handle` as
//! well (MIX `<create/>`, `<join/>`, one groupchat message); the archive is
//! then filled by one SQL statement per batch (a generated series), copying
//! that message's row, so the rows look exactly like real ones. Query kinds,
//! each timed per query (from handing the IQ over to getting the stanzas back):
//! - `forward`: pages of 50 oldest first, RSM `<after/>` the last id of the
//!   previous page, in runs of consecutive pages starting at random points;
//! - `before`: RSM `<before/>` a random id (the 50 messages before it);
//! - `last`: RSM `<before/>` empty (the newest page, what clients ask on join).
//!
//! Prints a JSON report (p50 / p99 / max in milliseconds per kind) on stdout
//! or into `--out`. Not a test: no assertion on times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;
use sqlx::{AnyConnection, Connection, Executor};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Lang, Message, MessageType};
use xmpp_parsers::minidom::rxml::NcName;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use mixmuc::config::Config;
use mixmuc::service::Service;
use mixmuc::store::{Backend, Store};

#[derive(Parser)]
#[command(name = "mixmuc-bench-mam", about = "S4: MAM paging and before-queries over a large channel archive")]
struct Cli {
    /// Store URL: sqlite:///path/file.db or postgres://...
    #[arg(long)]
    store: String,
    /// PostgreSQL schema to create (and use); with --drop-schema it is dropped at the end.
    #[arg(long)]
    schema: Option<String>,
    #[arg(long)]
    drop_schema: bool,
    /// Messages archived in the channel.
    #[arg(long, default_value_t = 1_000_000)]
    messages: i64,
    /// Keep an already filled archive of the right size (skip the fill).
    #[arg(long)]
    reuse: bool,
    /// Forward runs (random starting points) and pages per run.
    #[arg(long, default_value_t = 40)]
    forward_runs: usize,
    #[arg(long, default_value_t = 25)]
    pages_per_run: usize,
    /// `before` queries at random points.
    #[arg(long, default_value_t = 1000)]
    before_queries: usize,
    /// Newest-page queries.
    #[arg(long, default_value_t = 200)]
    last_queries: usize,
    /// Page size (`<max/>`).
    #[arg(long, default_value_t = 50)]
    page: usize,
    /// Which view's handler: muc or mix.
    #[arg(long, default_value = "muc")]
    view: String,
    /// JSON report here instead of stdout.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

const CHANNEL: &str = "s4bench";
const USER: &str = "alice@localhost";
const MIX_DOMAIN: &str = "mix.localhost";
const MUC_DOMAIN: &str = "muc.localhost";
const NS_MIX_CORE: &str = "urn:xmpp:mix:core:1";
const NS_MAM: &str = "urn:xmpp:mam:2";
const NS_RSM: &str = "http://jabber.org/protocol/rsm";
const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";

type BoxError = Box<dyn std::error::Error>;

fn id_of(n: i64) -> String {
    format!("s4-{n:010}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))).with_writer(std::io::stderr).init();
    let schema_line = cli.schema.as_deref().map(|s| format!("schema = \"{s}\"\n")).unwrap_or_default();
    let cfg = Config::from_toml(&format!(
        "[server]\nport = 1\n[mix]\ndomain = \"{MIX_DOMAIN}\"\nsecret = \"x\"\n[muc]\ndomain = \"{MUC_DOMAIN}\"\nsecret = \"x\"\n\
         [store]\nurl = \"{}\"\n{schema_line}max_connections = 4\n[service]\nlocal_domains = [\"localhost\"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n",
        cli.store
    ))?;
    let store = Store::open(&cfg.store).await?;
    let from: Jid = format!("{USER}/bench").parse()?;

    let existing = count_rows(&cli).await.unwrap_or(0);
    let reuse = cli.reuse && existing == cli.messages;
    if !reuse && existing > 0 {
        exec(&cli, "DELETE FROM archive").await?;
        exec(&cli, "DELETE FROM participants").await?;
        exec(&cli, "DELETE FROM channels").await?;
    }
    // Made after the deletes: its caches start empty.
    let svc = Service::new(&cfg, store.clone());
    let fill_secs = if reuse {
        eprintln!("reusing {existing} archived messages");
        None
    } else {
        let create = Element::builder("create", NS_MIX_CORE).attr(ncname("channel"), CHANNEL).build();
        request(&svc, iq_set("create", &from, MIX_DOMAIN, create)?).await?;
        // From the bare JID, as the participant's server sends it (XEP-0405).
        let join = Element::builder("join", NS_MIX_CORE)
            .append(Element::builder("subscribe", NS_MIX_CORE).attr(ncname("node"), NODE_MESSAGES))
            .append(Element::builder("nick", NS_MIX_CORE).append("alice"))
            .build();
        request(&svc, iq_set("join", &Jid::from(from.to_bare()), &format!("{CHANNEL}@{MIX_DOMAIN}"), join)?).await?;
        let started = Instant::now();
        fill(&cli, &svc, &from).await?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!("filled {} messages in {secs:.1} s", cli.messages);
        Some(secs)
    };
    analyze(&cli).await?;

    let room: Jid = format!("{CHANNEL}@{}", if cli.view == "mix" { MIX_DOMAIN } else { MUC_DOMAIN }).parse()?;
    let mut rng = rand::rng();
    let mut qn = 0u64;
    let mut run = |rsm: Rsm| {
        qn += 1;
        query_iq(qn, cli.page, rsm, &from, &room)
    };

    // Warm the caches (channel row, participants) and the page cache once;
    // the first page is a full one.
    let (_, _, results) = handle(&svc, run(Rsm::None)).await?;
    let want = cli.page.min(usize::try_from(cli.messages).unwrap_or(0));
    if results != want {
        return Err(format!("the first page has {results} results, not {want}").into());
    }

    let mut forward = Vec::new();
    for _ in 0..cli.forward_runs {
        let start = rng.random_range(1..=cli.messages.max(1));
        let mut after = id_of(start);
        for _ in 0..cli.pages_per_run {
            let (t, last, _) = handle(&svc, run(Rsm::After(after.clone()))).await?;
            forward.push(t);
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
    }
    let mut before = Vec::new();
    for _ in 0..cli.before_queries {
        let at = rng.random_range(1..=cli.messages.max(1));
        let (t, _, _) = handle(&svc, run(Rsm::Before(id_of(at)))).await?;
        before.push(t);
    }
    let mut last = Vec::new();
    for _ in 0..cli.last_queries {
        let (t, _, _) = handle(&svc, run(Rsm::Before(String::new()))).await?;
        last.push(t);
    }

    let backend = match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let report = format!(
        "{{\n  \"scenario\": \"S4\",\n  \"store\": \"{backend}\",\n  \"view\": \"{}\",\n  \"messages\": {},\n  \"page\": {},\n  \"fill_seconds\": {},\n  \"queries\": {{\n    {},\n    {},\n    {}\n  }}\n}}\n",
        cli.view,
        cli.messages,
        cli.page,
        fill_secs.map(|s| format!("{s:.2}")).unwrap_or_else(|| "null".into()),
        stats("forward", &mut forward),
        stats("before", &mut before),
        stats("last", &mut last),
    );
    match &cli.out {
        Some(p) => {
            std::fs::write(p, &report)?;
            eprint!("{report}");
        }
        None => print!("{report}"),
    }
    store.close().await;
    if cli.drop_schema {
        if let Some(s) = &cli.schema {
            let mut c = AnyConnection::connect(&cli.store).await?;
            c.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {s} CASCADE"))).await?;
        }
    }
    Ok(())
}

enum Rsm {
    None,
    After(String),
    Before(String),
}

fn ncname(name: &str) -> NcName {
    NcName::try_from(name).expect("a valid attribute name")
}

/// `<iq type='set' id=id from=from to=to>payload</iq>`.
fn iq_set(id: &str, from: &Jid, to: &str, payload: Element) -> Result<Stanza, BoxError> {
    Ok(Stanza::Iq(Iq::Set { from: Some(from.clone()), to: Some(to.parse()?), id: id.to_owned(), payload }))
}

/// The MAM query number `n` from `from` to the channel's JID `room`.
fn query_iq(n: u64, max: usize, rsm: Rsm, from: &Jid, room: &Jid) -> Stanza {
    let mut set = Element::builder("set", NS_RSM).append(Element::builder("max", NS_RSM).append(max.to_string()));
    match rsm {
        Rsm::None => {}
        Rsm::After(id) => set = set.append(Element::builder("after", NS_RSM).append(id)),
        Rsm::Before(id) => set = set.append(Element::builder("before", NS_RSM).append(id)),
    }
    let payload = Element::builder("query", NS_MAM).attr(ncname("queryid"), format!("q{n}")).append(set).build();
    Stanza::Iq(Iq::Set { from: Some(from.clone()), to: Some(room.clone()), id: format!("mam{n}"), payload })
}

/// Hands one IQ to the service; the payload of its result, or the error it got.
async fn request(svc: &Service, iq: Stanza) -> Result<Option<Element>, BoxError> {
    let Stanza::Iq(Iq::Set { id, payload, .. }) = &iq else { unreachable!("only IQ sets are sent") };
    let what = format!("<{}/> (iq {id})", payload.name());
    let id = id.clone();
    answer(&what, &id, svc.handle(iq).await)
}

/// The answer to IQ `id` among the stanzas the service sent.
fn answer(what: &str, id: &str, out: Vec<Stanza>) -> Result<Option<Element>, BoxError> {
    for s in out {
        match s {
            Stanza::Iq(Iq::Result { id: i, payload, .. }) if i == id => return Ok(payload),
            Stanza::Iq(Iq::Error { id: i, error, .. }) if i == id => return Err(format!("{what} refused: {error:?}").into()),
            _ => {}
        }
    }
    Err(format!("{what}: no answer").into())
}

/// One MAM query through `Service::handle`: its time, the last result id
/// (None when the page was the last one) and the number of results.
async fn handle(svc: &Service, q: Stanza) -> Result<(Duration, Option<String>, usize), BoxError> {
    let Stanza::Iq(Iq::Set { id, .. }) = &q else { unreachable!("MAM queries are IQ sets") };
    let id = id.clone();
    let started = Instant::now();
    let out = svc.handle(q).await;
    let t = started.elapsed();
    let results = out.iter().filter(|s| matches!(s, Stanza::Message(_))).count();
    let fin = answer("MAM query", &id, out)?.ok_or("MAM query: a result without <fin/>")?;
    let last = fin.children().find(|c| c.name() == "set").and_then(|set| set.children().find(|c| c.name() == "last")).map(|l| l.text());
    let complete = fin.attr("complete") == Some("true");
    Ok((t, if complete { None } else { last }, results))
}

fn stats(kind: &str, v: &mut [Duration]) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |p: f64| if v.is_empty() { 0.0 } else { ms(v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]) };
    let mean = if v.is_empty() { 0.0 } else { v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64 };
    format!(
        "\"{kind}\": {{\"n\": {}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}, \"mean_ms\": {:.3}}}",
        v.len(),
        pick(0.50),
        pick(0.99),
        v.last().map(|d| ms(*d)).unwrap_or(0.0),
        mean
    )
}

async fn connect(cli: &Cli) -> Result<AnyConnection, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let url = if cli.store.starts_with("sqlite:") && !cli.store.contains('?') { format!("{}?mode=rwc", cli.store) } else { cli.store.clone() };
    let mut c = AnyConnection::connect(&url).await?;
    if let Some(s) = &cli.schema {
        if !cli.store.starts_with("sqlite:") {
            c.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}"))).await?;
        }
    }
    Ok(c)
}

async fn exec(cli: &Cli, sql: &str) -> Result<(), sqlx::Error> {
    connect(cli).await?.execute(sqlx::AssertSqlSafe(sql.to_string())).await.map(|_| ())
}

async fn count_rows(cli: &Cli) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM archive WHERE channel = '{CHANNEL}'"))).fetch_one(&mut connect(cli).await?).await
}

async fn analyze(cli: &Cli) -> Result<(), sqlx::Error> {
    exec(cli, "ANALYZE").await
}

/// Posts one real message (a MIX groupchat to the channel), then copies its
/// row `messages` times with ids `s4-<n>` and timestamps one second apart,
/// in batches of 100,000.
async fn fill(cli: &Cli, svc: &Arc<Service>, from: &Jid) -> Result<(), BoxError> {
    let channel: Jid = format!("{CHANNEL}@{MIX_DOMAIN}").parse()?;
    let mut m = Message::new_with_type(MessageType::Groupchat, Some(channel))
        .with_body(Lang(String::new()), "A message of ordinary length for the history benchmark, about a hundred characters.".into());
    m.from = Some(from.clone());
    m.id = Some(xmpp_parsers::message::Id("s4-template".into()));
    let out = svc.handle(Stanza::Message(m)).await;
    if let Some(e) = out.iter().find_map(|s| match s {
        Stanza::Message(r) if r.type_ == MessageType::Error => Some(r),
        _ => None,
    }) {
        return Err(format!("posting the template message was refused: {e:?}").into());
    }
    let mut c = connect(cli).await?;
    let sqlite = cli.store.starts_with("sqlite:");
    exec(cli, &format!("DELETE FROM archive WHERE channel = '{CHANNEL}' AND id NOT IN (SELECT id FROM archive WHERE channel = '{CHANNEL}' ORDER BY seq LIMIT 1)")).await?;
    let template = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT seq FROM archive WHERE channel = '{CHANNEL}'"))).fetch_one(&mut c).await?;
    let t0: i64 = 1_600_000_000_000;
    let batch = 100_000i64;
    let mut from = 1i64;
    while from <= cli.messages {
        let to = (from + batch - 1).min(cli.messages);
        let series = if sqlite {
            format!("WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to})")
        } else {
            format!("WITH s(n) AS (SELECT generate_series({from}::BIGINT, {to}::BIGINT))")
        };
        let pad = if sqlite { "printf('%010d', n)" } else { "lpad(n::TEXT, 10, '0')" };
        let sql = format!(
            "{series} INSERT INTO archive (channel, id, ts, sender_jid, participant_id, nick, submission_id, payload) \
             SELECT a.channel, 's4-' || {pad}, {t0} + n * 1000, a.sender_jid, a.participant_id, a.nick, NULL, a.payload \
             FROM s, archive a WHERE a.seq = {template} ORDER BY n"
        );
        let mut tx = c.begin().await?;
        tx.execute(sqlx::AssertSqlSafe(sql)).await?;
        tx.commit().await?;
        eprintln!("  {to} / {}", cli.messages);
        from = to + 1;
    }
    exec(cli, &format!("DELETE FROM archive WHERE seq = {template}")).await?;
    Ok(())
}
