//! `mixmuc serve`: the store, the service, two links and the dispatcher
//! between them, until SIGTERM or SIGINT; SIGHUP re-reads what can change
//! without a restart (`[log] filter`); the metrics listener when
//! `[metrics] listen` is set.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use xmpp_parsers::stanza::Stanza;

use std::path::PathBuf;
use std::time::Instant;

use crate::config::{Config, DomainConfig};
use crate::link::{self, LinkConfig, LinkError, LinkState, Outbox};
use crate::metrics::{self, Domain, Kind};
use crate::outgoing::Out;
use crate::service::{Service, View};
use crate::store::{ActiveLock, ServingLock, Store};

/// Stanzas read and not yet handled (both links together). When the
/// dispatcher waits for room in a link's queue (`[server]
/// send_queue_bytes`), the links stop reading once this is full.
const INBOUND: usize = 1024;
/// At most this many queued stanzas are handled together (`handle_batch`).
const BATCH: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("a link task ended abnormally: {0}")]
    LinkTask(String),
    #[error(transparent)]
    Superseded(#[from] crate::store::Superseded),
    #[error("[metrics] listen = \"{addr}\": {error}")]
    Metrics { addr: std::net::SocketAddr, error: std::io::Error },
}

/// What SIGHUP needs: the configuration file to read again and the log
/// filter to change.
pub struct Reload {
    pub path: PathBuf,
    pub logging: crate::logging::Logging,
}

impl Reload {
    /// Reads the file again and applies what can change while running;
    /// an invalid file changes nothing (and says why).
    fn apply(&self) {
        let cfg = match Config::load(&self.path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(config = %self.path.display(), error = %e, "SIGHUP: configuration not reloaded; the running one stays");
                return;
            }
        };
        match self.logging.set_filter(&cfg.log.filter) {
            Ok(true) => tracing::info!(config = %self.path.display(), filter = %cfg.log.filter, "SIGHUP: log filter changed; other settings take effect at the next start"),
            Ok(false) => tracing::info!(config = %self.path.display(), "SIGHUP: log filter unchanged; other settings take effect at the next start"),
            Err(e) => tracing::error!(error = %e, "SIGHUP: log filter not changed"),
        }
    }
}

/// How long a shutdown may take to finish what the links had read.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

fn link_config(cfg: &Config, d: &DomainConfig) -> LinkConfig {
    LinkConfig {
        host: cfg.server.host.clone(),
        port: cfg.server.port,
        domain: d.domain.clone(),
        secret: d.secret.clone(),
        keepalive: Duration::from_secs(cfg.server.keepalive_secs),
        max_backoff: Duration::from_secs(cfg.server.max_backoff_secs),
        multicast: cfg.server.multicast.as_deref().and_then(|m| m.parse().ok()),
        max_stanza_bytes: cfg.server.max_stanza_bytes,
    }
}

/// Runs until a signal asks to stop (or a link cannot authenticate at all).
/// `reload`: what SIGHUP re-reads (none: SIGHUP is ignored).
pub async fn serve(cfg: Config, reload: Option<Reload>) -> Result<(), ServeError> {
    // Held until the end: the host's commands that change the store refuse
    // while it is (`store/serving.rs`); a second service on one SQLite file
    // is refused here.
    let lock = ServingLock::serve(&cfg.store).await?;
    tracing::info!(lock = %lock.shown(), "serving lock held");
    let store = Store::open(&cfg.store).await?;
    tracing::info!(store = %crate::config::redact_url(&cfg.store.url), backend = ?store.backend(), "store ready");
    let svc = Service::new(&cfg, store.clone());

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Released after the store is closed (`unlock` dropped), not at the
    // shutdown signal: stanzas read before it are still handled meanwhile.
    let (unlock, unlocked) = watch::channel(false);
    let lock = tokio::spawn(lock.keep(unlocked));
    let (in_tx, mut in_rx) = mpsc::channel::<Stanza>(INBOUND);
    let (mix_out, mix_in) = link::queue(&cfg.mix.domain, cfg.server.send_queue_bytes);
    let (muc_out, muc_in) = link::queue(&cfg.muc.domain, cfg.server.send_queue_bytes);
    // Before the links: a listener that cannot bind stops the start.
    let listener = match cfg.metrics.listen {
        Some(addr) => {
            let sources = metrics::http::Sources {
                store: store.clone(),
                queues: [(Domain::Mix, mix_out.gauge()), (Domain::Muc, muc_out.gauge())],
                inbound: in_tx.downgrade(),
                inbound_bound: INBOUND,
            };
            let serving = metrics::http::bind(addr, sources).await.map_err(|error| ServeError::Metrics { addr, error })?;
            Some(tokio::spawn(serving))
        }
        None => None,
    };
    let mut links = Links { mix: mix_out, muc: muc_out };
    // Created once: a signal that arrives while a stanza is being handled
    // is kept for the next turn of the loop (a future made anew each turn
    // would miss it, and a busy dispatcher would never stop).
    let stop = signal();
    tokio::pin!(stop);
    // On a PostgreSQL store shared by several processes, one is active:
    // the others wait here, before their links, so that both domains go
    // to one process together (`store/active.rs`, docs/deploy/scale-out.md).
    let active = tokio::select! {
        biased;
        _ = &mut stop => {
            tracing::info!("shutting down (standing by)");
            drop(unlock);
            let _ = lock.await;
            store.close().await;
            return Ok(());
        }
        a = ActiveLock::wait(&cfg.store, || {
            tracing::info!(every_ms = crate::store::ACTIVE_POLL.as_millis() as u64, "another process is active on this store: standing by");
            crate::notify::standing_by();
        }) => a?,
    };
    if active.is_some() {
        tracing::info!("active on this store");
    }
    let superseded = async move {
        match active {
            Some(a) => a.keep().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(superseded);
    let (mix_state, mix_watch) = watch::channel(LinkState::Down);
    let (muc_state, muc_watch) = watch::channel(LinkState::Down);
    let mut mix_link = tokio::spawn(link::run(link_config(&cfg, &cfg.mix), "mix", in_tx.clone(), mix_in, shutdown_rx.clone(), mix_state));
    let mut muc_link = tokio::spawn(link::run(link_config(&cfg, &cfg.muc), "muc", in_tx, muc_in, shutdown_rx, muc_state));
    // READY=1 to systemd once both links are up, STATUS= at each change
    // (src/notify.rs); stopped at shutdown.
    // The rounds below (idle sessions, end of life) run only while both
    // links are up: a standby waiting for the domains (or a service whose
    // server is away) would otherwise take the sessions whose pings it
    // could not send for gone, and remove them from a shared store.
    let links_up = {
        let (mix, muc) = (mix_watch.clone(), muc_watch.clone());
        move || *mix.borrow() == LinkState::Up && *muc.borrow() == LinkState::Up
    };
    let notices = tokio::spawn(crate::notify::follow_links((cfg.mix.domain.clone(), mix_watch), (cfg.muc.domain.clone(), muc_watch)));

    let mut hangups = match &reload {
        Some(_) => tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        None => None,
    };
    // Kept from turn to turn, so that a turn allocates neither (see
    // `Service::handle_batch_into`).
    let mut batch: Vec<Stanza> = Vec::with_capacity(BATCH);
    let mut answers = crate::outgoing::Coalescer::default();
    // The idle-session check (`Service::idle_sweep`): its rounds run here,
    // between turns, so that its removals never interleave with a stanza's
    // handling (the dispatcher is the channels' only writer); it stops
    // with the loop. The first round comes one period after the start.
    let mut rounds = svc.idle_sweep_period().map(|p| {
        tracing::info!(every_ms = p.as_millis() as u64, check_secs = cfg.service.idle_session_check_secs, max_pings = cfg.service.idle_session_pings_per_round, "idle-session check on");
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + p, p);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    // Channels whose end of life has come (`Service::expire_channels`),
    // also between turns.
    let mut expiry = tokio::time::interval_at(tokio::time::Instant::now() + crate::expire::PERIOD, crate::expire::PERIOD);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        tokio::select! {
            biased;
            _ = &mut stop => { tracing::info!("shutting down"); break Ok(()) }
            r = &mut mix_link => break link_outcome(r),
            r = &mut muc_link => break link_outcome(r),
            lost = &mut superseded => {
                tracing::error!("{lost}: stopping, so that one process serves the domains");
                break Err(ServeError::Superseded(lost));
            }
            () = next_hangup(&mut hangups) => {
                if let Some(r) = &reload {
                    r.apply();
                }
            }
            _ = expiry.tick() => {
                if !links_up() {
                    tracing::debug!("end-of-life round skipped: a link is down");
                    continue;
                }
                let outs = svc.expire_channels(crate::store::now_ms()).await;
                tokio::select! {
                    biased;
                    _ = &mut stop => { tracing::info!("shutting down"); break Ok(()) }
                    () = links.deliver(&svc, outs) => {}
                }
            }
            () = next_round(&mut rounds) => {
                if !links_up() {
                    tracing::debug!("idle-session round skipped: a link is down");
                    continue;
                }
                let outs = svc.idle_sweep(crate::store::now_ms()).await;
                // Waiting for room in a link's queue must not keep a
                // shutdown waiting (a server that does not read).
                tokio::select! {
                    biased;
                    _ = &mut stop => { tracing::info!("shutting down"); break Ok(()) }
                    () = links.deliver(&svc, outs) => {}
                }
            }
            Some(stanza) = in_rx.recv() => {
                let started = Instant::now();
                // What is already queued goes with it: the room messages
                // among them are archived with one statement.
                batch.push(stanza);
                while batch.len() < BATCH {
                    match in_rx.try_recv() {
                        Ok(s) => batch.push(s),
                        Err(_) => break,
                    }
                }
                // Identical answers to different recipients become one
                // fan-out where no recipient's order changes (join storms).
                let n = batch.len();
                svc.handle_batch_into(batch.drain(..), &mut answers).await;
                // The links' queues are bounded in bytes: while the server
                // does not read, this waits (and the links stop reading).
                // Everything handled is archived already; a shutdown
                // meanwhile drops the rest of the turn's answers.
                tokio::select! {
                    biased;
                    _ = &mut stop => { tracing::info!("shutting down"); break Ok(()) }
                    () = links.deliver(&svc, answers.drain()) => {}
                }
                metrics::get().dispatched(started.elapsed(), n);
            }
        }
    };
    crate::notify::stopping();
    notices.abort();
    let _ = shutdown_tx.send(true);
    // The links stop reading, send what is queued for them and close their
    // streams. Meanwhile what they had already read is still handled (a
    // link waiting to hand over a stanza would otherwise never see the
    // shutdown), until both have ended or the time is up.
    let finish = async {
        // None: both links have ended (their senders are gone).
        while let Some(stanza) = in_rx.recv().await {
            svc.handle_batch_into(std::iter::once(stanza), &mut answers).await;
            links.deliver(&svc, answers.drain()).await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, finish).await.is_err() {
        tracing::warn!("shutdown: stanzas still arriving after {SHUTDOWN_GRACE:?}; the rest are not handled");
    }
    drop(in_rx);
    for h in [mix_link, muc_link] {
        if !h.is_finished() {
            let _ = tokio::time::timeout(Duration::from_millis(500), h).await;
        }
    }
    if let Some(l) = listener {
        l.abort();
    }
    store.close().await;
    drop(unlock);
    let _ = lock.await;
    outcome
}

fn link_outcome(r: Result<Result<(), LinkError>, tokio::task::JoinError>) -> Result<(), ServeError> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        // A link task that panicked or was cancelled: the service cannot go
        // on without it; exit non-zero so that a supervisor restarts it.
        Err(e) => {
            tracing::error!(error = %e, "link task failed");
            Err(ServeError::LinkTask(e.to_string()))
        }
    }
}

/// The dispatcher's ends of the two links' queues.
struct Links {
    mix: Outbox,
    muc: Outbox,
}

impl Links {
    /// Hands each stanza or fan-out to the link of its sender's domain,
    /// then what is serialised: waits while a queue is full.
    async fn deliver(&mut self, svc: &Arc<Service>, items: impl IntoIterator<Item = Out>) {
        for item in items {
            let view = item.sender().and_then(|f| svc.view_of(f.domain().as_str()));
            let (outbox, domain) = match view {
                Some(View::Mix) => (&mut self.mix, Domain::Mix),
                Some(View::Muc) => (&mut self.muc, Domain::Muc),
                None => {
                    tracing::error!(stanza = ?item, "outgoing stanza not from one of our domains; dropped");
                    continue;
                }
            };
            count_out(domain, &item);
            if outbox.push(&item).await.is_err() {
                tracing::warn!("link queue closed; stanza dropped");
            }
        }
        for outbox in [&mut self.mix, &mut self.muc] {
            if outbox.flush().await.is_err() {
                tracing::warn!("link queue closed; stanzas dropped");
            }
        }
    }
}

/// Counts an outgoing item: its stanzas by kind, a fan-out's copies, an
/// error stanza's condition.
fn count_out(domain: Domain, item: &Out) {
    let m = metrics::get();
    match item {
        Out::Stanza(s) => {
            let kind = match s {
                Stanza::Message(_) => Kind::Message,
                Stanza::Presence(_) => Kind::Presence,
                Stanza::Iq(_) => Kind::Iq,
            };
            m.stanzas_out(domain, kind, 1);
            if let Some(c) = crate::xmpp::reply::error_condition(s) {
                m.error_sent(&c);
            }
        }
        Out::FanOut(f) => {
            let kind = match f.template {
                crate::outgoing::Template::Presence(_) => Kind::Presence,
                crate::outgoing::Template::Message(_) => Kind::Message,
            };
            let n = f.to.len() as u64;
            m.stanzas_out(domain, kind, n);
            m.fanout(domain, n);
        }
    }
}

/// The next SIGHUP; never when there is nothing to reload.
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) {
    match hangups {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await
            }
        }
        None => std::future::pending().await,
    }
}

/// The next tick of the idle-session check; never when it is off.
async fn next_round(rounds: &mut Option<tokio::time::Interval>) {
    match rounds {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        }
        _ => std::future::pending::<()>().await,
    }
}
