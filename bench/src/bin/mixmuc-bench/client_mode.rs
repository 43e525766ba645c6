//! c2s mode: sessions through a real server, joined to MUC rooms and MIX
//! channels, then the steps.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use crate::c2s::{self, ClientCfg, Conn, Ctl, Running};
use crate::json::Json;
use crate::stats::{Layout, Shared};
use crate::steps::{self, Limits, StepPlan, Watched};
use crate::frame::esc;

pub struct Params {
    pub client: ClientCfg,
    pub accounts: Vec<String>,
    pub muc_domain: String,
    pub mix_domain: String,
    pub layout: Layout,
    pub plans: Vec<StepPlan>,
    pub limits: Limits,
    pub watched: Watched,
    pub concurrency: usize,
}

/// Logs every session in; fails on the first session that cannot.
pub async fn login_all(client: &ClientCfg, accounts: &[String], concurrency: usize) -> Result<Vec<Conn>, String> {
    let mut conns: Vec<(usize, Conn)> = stream::iter(accounts.iter().enumerate())
        .map(|(i, user)| async move { c2s::login(client, user, &format!("bench{i}")).await.map(|c| (i, c)) })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    conns.sort_by_key(|(i, _)| *i);
    Ok(conns.into_iter().map(|(_, c)| c).collect())
}

pub async fn run(p: Params, shared: Arc<Shared>) -> Result<(Json, Vec<Json>), String> {
    let layout = &p.layout;
    let n = layout.sessions();
    if p.accounts.len() < n {
        return Err(format!("{} sessions need {n} accounts, got {}", n, p.accounts.len()));
    }
    let t_connect = Instant::now();
    eprintln!("mixmuc-bench: logging in {n} sessions");
    let conns = login_all(&p.client, &p.accounts[..n], p.concurrency).await?;
    let connect_s = t_connect.elapsed().as_secs_f64();

    let t_join = Instant::now();
    let ctl = Arc::new(Ctl::default());
    let room_addr = |s: usize| -> String {
        let name = layout.room_name(layout.room_of(s));
        if layout.is_mix(s) {
            format!("{name}@{}", p.mix_domain)
        } else {
            format!("{name}@{}", p.muc_domain)
        }
    };
    let join = |mut c: Conn, s: usize, creator: bool| {
        let shared = shared.clone();
        let ctl = ctl.clone();
        let addr = room_addr(s);
        let nick = layout.nick(s);
        let name = layout.room_name(layout.room_of(s));
        let mix = layout.is_mix(s);
        let mix_domain = p.mix_domain.clone();
        async move {
            if mix {
                if creator {
                    c2s::mix_create(&mut c, &mix_domain, &name).await?;
                }
                c2s::mix_join(&mut c, &addr, &nick).await?;
            } else {
                c2s::muc_join(&mut c, &addr, &nick, creator).await?;
            }
            Ok::<_, String>((s, c2s::spawn(c, s, shared, ctl)))
        }
    };
    let mut slots: Vec<Option<Conn>> = conns.into_iter().map(Some).collect();
    let mut running: Vec<Option<Running>> = (0..n).map(|_| None).collect();
    // Each room's first occupant creates it, alone; then everyone else.
    let creators: Vec<_> = (0..layout.rooms).map(|r| r * layout.occupants).map(|s| join(slots[s].take().expect("session"), s, true)).collect();
    eprintln!("mixmuc-bench: creating {} rooms", layout.rooms);
    for r in stream::iter(creators).buffer_unordered(p.concurrency.max(1)).collect::<Vec<_>>().await {
        let (s, run) = r?;
        running[s] = Some(run);
    }
    let rest: Vec<_> = (0..n).filter_map(|s| slots[s].take().map(|c| join(c, s, false))).collect();
    eprintln!("mixmuc-bench: joining {} more occupants", rest.len());
    for r in stream::iter(rest).buffer_unordered(p.concurrency.max(1)).collect::<Vec<_>>().await {
        let (s, run) = r?;
        running[s] = Some(run);
    }
    let running: Vec<Running> = running.into_iter().map(|r| r.expect("every session joined")).collect();
    let join_s = t_join.elapsed().as_secs_f64();
    // Let the join presences settle before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let senders: Vec<(usize, String)> = (0..n).map(|s| (s, room_addr(s))).collect();
    let send = |sender: usize, token: &str| {
        let (_, to) = &senders[sender];
        let msg = format!("<message type='groupchat' to='{}' id='{}'><body>{token}</body></message>", esc(to), token.replace(' ', "-"));
        let _ = running[sender].tx.send(msg.into_bytes());
    };
    let reports = steps::run(&shared, &p.plans, &p.limits, &p.watched, &send).await;

    // MIX participants leave, so the users' rosters do not pile up channels.
    let mut leaving = 0;
    for (s, r) in running.iter().enumerate() {
        if layout.is_mix(s) {
            let _ = r.tx.send(c2s::client_leave(&r.jid, &room_addr(s), &format!("leave{s}")).into_bytes());
            leaving += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctl.leaves.load(Ordering::Relaxed) < leaving && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    close_all(running).await;
    let setup = Json::obj()
        .with("sessions", n)
        .with("connect_s", connect_s)
        .with("join_s", join_s)
        .with("mix_left", ctl.leaves.load(Ordering::Relaxed));
    Ok((setup, reports))
}

/// Ends every stream and waits (bounded) for the tasks.
pub async fn close_all(running: Vec<Running>) {
    for r in &running {
        let _ = r.tx.send(Vec::new());
    }
    let all = futures::future::join_all(running.into_iter().map(|r| async move {
        let _ = r.writer.await;
        let _ = r.reader.await;
    }));
    let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
}
