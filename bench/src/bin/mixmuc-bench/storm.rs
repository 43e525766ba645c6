//! join-storm mode (S3): N sessions enter one MUC room at once; how long
//! until every occupant has seen every other one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::c2s::{self, ClientCfg, Conn};
use crate::client_mode;
use crate::frame::{self, esc, Frame};
use crate::json::Json;
use crate::procstat;
use crate::stats;

pub struct Params {
    pub client: ClientCfg,
    pub accounts: Vec<String>,
    pub muc_domain: String,
    pub occupants: usize,
    pub room: String,
    pub timeout: f64,
    pub watched: Vec<(String, String)>,
    pub concurrency: usize,
}

/// Per occupant: seconds after t0 of its self-presence and of its full list.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    joined: Option<f64>,
    complete: Option<f64>,
}

pub async fn run(p: Params) -> Result<Json, String> {
    let n = p.occupants;
    if n < 2 {
        return Err("--occupants must be at least 2".into());
    }
    if p.accounts.len() < n {
        return Err(format!("{n} occupants need {n} accounts, got {}", p.accounts.len()));
    }
    let room = format!("{}@{}", p.room, p.muc_domain);
    eprintln!("mixmuc-bench: logging in {n} sessions");
    let t_connect = Instant::now();
    let mut conns = client_mode::login_all(&p.client, &p.accounts[..n], p.concurrency).await?;
    let connect_s = t_connect.elapsed().as_secs_f64();
    // Occupant 0 creates (and configures) the room before the storm.
    c2s::muc_join(&mut conns[0], &room, "o0", true).await?;

    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let cpu0 = procstat::cpu_seconds("self");
    let watched0: Vec<Option<f64>> = p.watched.iter().map(|(_, pid)| procstat::cpu_seconds(pid)).collect();
    let t0 = Arc::new(std::sync::OnceLock::<Instant>::new());
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let mut tasks = vec![];
    for (i, c) in conns.into_iter().enumerate() {
        let (go, stop, room, t0, done) = (go_rx.clone(), stop_rx.clone(), room.clone(), t0.clone(), done_tx.clone());
        tasks.push(tokio::spawn(occupant(c, i, n, room, go, stop, t0, done)));
    }
    drop(done_tx);
    tokio::time::sleep(Duration::from_millis(200)).await;
    t0.set(Instant::now()).ok();
    let _ = go_tx.send(true);
    eprintln!("mixmuc-bench: storm: {n} occupants entering {room}");
    // Wait until every occupant is complete, or the deadline.
    let wait_all = async {
        let mut done = 0;
        while done < n && done_rx.recv().await.is_some() {
            done += 1;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs_f64(p.timeout), wait_all).await;
    let elapsed_s = t0.get().map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
    let _ = stop_tx.send(true);
    let results = futures::future::join_all(tasks).await;
    let cpu1 = procstat::cpu_seconds("self");
    let outcomes: Vec<Outcome> = results.into_iter().map(|r| r.unwrap_or_default()).collect();
    let complete = outcomes.iter().all(|o| o.complete.is_some());
    let mut per: Vec<u32> = outcomes.iter().filter_map(|o| o.complete).map(|s| (s * 1e6) as u32).collect();
    per.sort_unstable();
    let all_joined = outcomes.iter().skip(1).map(|o| o.joined).collect::<Option<Vec<f64>>>().map(|v| v.into_iter().fold(0.0, f64::max));
    let full_list = if complete { outcomes.iter().filter_map(|o| o.complete).fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v)))) } else { None };
    let mut processes = Json::obj();
    for ((name, pid), before) in p.watched.iter().zip(&watched0) {
        let cpu = before.zip(procstat::cpu_seconds(pid)).map(|(a, b)| b - a);
        let (rss, hwm) = procstat::memory_kb(pid);
        processes.set(name, Json::obj().with("pid", pid.as_str()).with("cpu_s", cpu).with("rss_kb", rss).with("hwm_kb", hwm));
    }
    let ms = |q| stats::percentile_ms(&per, q).map(|v| v / 1000.0);
    Ok(Json::obj()
        .with("setup", Json::obj().with("sessions", n).with("connect_s", connect_s))
        .with(
            "storm",
            Json::obj()
                .with("room", room.as_str())
                .with("occupants", n)
                .with("complete", complete)
                .with("completed_occupants", per.len())
                .with("all_joined_s", all_joined)
                .with("full_list_s", full_list)
                .with("per_occupant_s", Json::obj().with("p50", ms(0.5)).with("p90", ms(0.9)).with("p99", ms(0.99)).with("max", per.last().map(|&v| v as f64 / 1e6)))
                .with("elapsed_s", elapsed_s)
                .with("tool_cpu_s", cpu0.zip(cpu1).map(|(a, b)| b - a))
                .with("processes", processes),
        ))
}

#[allow(clippy::too_many_arguments)]
async fn occupant(
    mut c: Conn,
    i: usize,
    n: usize,
    room: String,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    t0: Arc<std::sync::OnceLock<Instant>>,
    done: tokio::sync::mpsc::UnboundedSender<usize>,
) -> Outcome {
    let mut out = Outcome::default();
    let nick = format!("o{i}");
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    if i == 0 {
        seen.insert(nick.clone().into_bytes()); // already in the room
    }
    if go.wait_for(|g| *g).await.is_err() {
        return out;
    }
    let start = *t0.get().expect("t0 set before go");
    if i != 0 {
        let join = format!("<presence to='{}/{}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>", esc(&room), esc(&nick));
        if c.tcp.write_all(join.as_bytes()).await.is_err() {
            return out;
        }
    } else {
        out.joined = Some(0.0);
    }
    let prefix = format!("{room}/");
    loop {
        while let Ok(Some(f)) = c.fr.next_frame() {
            let Frame::Stanza(r) = f else { continue };
            let s = &c.fr.buf[r];
            if frame::name(s) != b"presence" || c2s::is_type(s, "unavailable") || c2s::is_type(s, "error") {
                continue;
            }
            let Some(from) = frame::attr(s, "from") else { continue };
            if !from.starts_with(prefix.as_bytes()) {
                continue;
            }
            let t = start.elapsed().as_secs_f64();
            seen.insert(from[prefix.len()..].to_vec());
            if out.joined.is_none() && c2s::has_status(s, "110") {
                out.joined = Some(t);
            }
            if seen.len() >= n && out.complete.is_none() {
                out.complete = Some(t);
            }
        }
        if out.complete.is_some() {
            let _ = done.send(i);
            break;
        }
        c.fr.compact();
        c.fr.reserve(16 * 1024);
        tokio::select! {
            r = c.tcp.read_buf(&mut c.fr.buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    // Stay until everyone is done or the deadline, so nobody's view changes.
    let _ = stop.wait_for(|s| *s).await;
    let _ = c.tcp.write_all(b"</stream:stream>").await;
    out
}
