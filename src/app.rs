//! `mixmuc serve`: the store, the service, two links and the dispatcher
//! between them, until SIGTERM or SIGINT.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use xmpp_parsers::stanza::Stanza;

use crate::config::{Config, DomainConfig};
use crate::link::{self, LinkConfig, LinkError};
use crate::service::{Service, View};
use crate::store::Store;

/// Queue depth between the dispatcher and each link.
const QUEUE: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Link(#[from] LinkError),
}

fn link_config(cfg: &Config, d: &DomainConfig) -> LinkConfig {
    LinkConfig {
        host: cfg.server.host.clone(),
        port: cfg.server.port,
        domain: d.domain.clone(),
        secret: d.secret.clone(),
        keepalive: Duration::from_secs(cfg.server.keepalive_secs),
        max_backoff: Duration::from_secs(cfg.server.max_backoff_secs),
    }
}

/// Runs until a signal asks to stop (or a link cannot authenticate at all).
pub async fn serve(cfg: Config) -> Result<(), ServeError> {
    let store = Store::open(&cfg.store).await?;
    tracing::info!(store = %crate::config::redact_url(&cfg.store.url), backend = ?store.backend(), "store ready");
    let svc = Service::new(&cfg, store.clone());

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (in_tx, mut in_rx) = mpsc::channel::<Stanza>(QUEUE);
    let (mix_tx, mix_rx) = mpsc::channel::<Stanza>(QUEUE);
    let (muc_tx, muc_rx) = mpsc::channel::<Stanza>(QUEUE);
    let mut mix_link = tokio::spawn(link::run(link_config(&cfg, &cfg.mix), "mix", in_tx.clone(), mix_rx, shutdown_rx.clone()));
    let mut muc_link = tokio::spawn(link::run(link_config(&cfg, &cfg.muc), "muc", in_tx, muc_rx, shutdown_rx));

    let outcome = loop {
        tokio::select! {
            Some(stanza) = in_rx.recv() => {
                for out in svc.handle(stanza).await {
                    send(&svc, &mix_tx, &muc_tx, out).await;
                }
            }
            r = &mut mix_link => break link_outcome(r),
            r = &mut muc_link => break link_outcome(r),
            _ = signal() => { tracing::info!("shutting down"); break Ok(()) }
        }
    };
    let _ = shutdown_tx.send(true);
    for h in [mix_link, muc_link] {
        if !h.is_finished() {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }
    store.close().await;
    outcome
}

fn link_outcome(r: Result<Result<(), LinkError>, tokio::task::JoinError>) -> Result<(), ServeError> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => {
            tracing::error!(error = %e, "link task failed");
            Ok(())
        }
    }
}

/// Hands a stanza to the link of its sender's domain.
async fn send(svc: &Arc<Service>, mix: &mpsc::Sender<Stanza>, muc: &mpsc::Sender<Stanza>, stanza: Stanza) {
    let from = match &stanza {
        Stanza::Iq(iq) => crate::xmpp::reply::iq_from(iq),
        Stanza::Message(m) => m.from.as_ref(),
        Stanza::Presence(p) => p.from.as_ref(),
    };
    let view = from.and_then(|f| svc.view_of(f.domain().as_str()));
    let tx = match view {
        Some(View::Mix) => mix,
        Some(View::Muc) => muc,
        None => {
            tracing::error!(stanza = ?stanza, "outgoing stanza not from one of our domains; dropped");
            return;
        }
    };
    if tx.send(stanza).await.is_err() {
        tracing::warn!("link queue closed; stanza dropped");
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
