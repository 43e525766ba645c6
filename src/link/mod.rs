//! The component link (XEP-0114): one TCP connection per domain to the XMPP
//! server. Authenticates with the handshake, pumps stanzas both ways, keeps
//! an idle link alive with pings, survives malformed stanzas, and reconnects
//! with capped exponential backoff when the link drops.

mod fast;
pub(crate) mod framer;
mod io;
mod queue;
mod session;
pub mod writer;

pub use queue::{queue, Closed, Inbox, Outbox, QueueGauge};

use std::borrow::Cow;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_xmpp::xmlstream::{initiate_stream, ReadError, StreamHeader, Timeouts, XmppStream, XmppStreamElement};
use tokio_xmpp::xmlstream::FallibleStreamElement;
use xmpp_parsers::component::Handshake;
use xmpp_parsers::stream_error::DefinedCondition;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::stanza::Stanza;

use crate::config::Secret;

/// How to reach the server for one domain.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub host: String,
    pub port: u16,
    pub domain: String,
    pub secret: Secret,
    pub keepalive: Duration,
    pub max_backoff: Duration,
    /// The server's XEP-0033 multicast service to try (`[server] multicast`).
    pub multicast: Option<Jid>,
    /// Largest stanza accepted from the server (`[server] max_stanza_bytes`);
    /// a larger one is dropped and its sender gets `policy-violation`.
    pub max_stanza_bytes: usize,
}

/// Where a link is, published on a `watch` channel by `run` (the
/// readiness notice of `app::serve` waits for both links' `Up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected: connecting, or waiting to try again.
    Down,
    /// The server accepted the handshake; stanzas flow.
    Up,
    /// `run` has returned: shut down, or the secret was refused.
    Stopped,
}

/// Why a link stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the server at {host}:{port} refused the component secret for {domain} ({reason}); check [{section}] secret in the configuration and the server's component_secret")]
    Auth { domain: String, host: String, port: u16, section: &'static str, reason: String },
}

/// Failure of one connection attempt.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("authentication refused: {0}")]
    Auth(String),
    #[error("{0}")]
    Io(String),
    /// The server holds another connection for the domain (`conflict`).
    #[error("the server holds another link for this domain: {0}")]
    Held(String),
}

/// How often a domain the server holds for another connection is tried
/// (a standby instance behind Prosody, which takes one connection per
/// component domain; docs/deploy/scale-out.md).
pub const STANDBY_RETRY: Duration = Duration::from_secs(1);

pub type Stream = XmppStream<io::LinkIo>;

/// Runs the link until `shutdown` turns true. Incoming stanzas go to
/// `inbound`; what the dispatcher queued (`queue`: `inbox` is the link's
/// end) is sent, and waits in the queue while disconnected.
/// Returns an error only for a refused secret on the very first attempt: a
/// configuration mistake, not a passing fault. `state` follows the link:
/// `Up` once the handshake is accepted, `Down` when the connection is
/// lost, `Stopped` when `run` returns.
pub async fn run(
    cfg: LinkConfig,
    section: &'static str,
    inbound: mpsc::Sender<Stanza>,
    inbox: Inbox,
    shutdown: watch::Receiver<bool>,
    state: watch::Sender<LinkState>,
) -> Result<(), LinkError> {
    let r = run_link(cfg, section, inbound, inbox, shutdown, &state).await;
    state.send_replace(LinkState::Stopped);
    r
}

async fn run_link(
    cfg: LinkConfig,
    section: &'static str,
    inbound: mpsc::Sender<Stanza>,
    mut inbox: Inbox,
    mut shutdown: watch::Receiver<bool>,
    state: &watch::Sender<LinkState>,
) -> Result<(), LinkError> {
    let mut backoff = Duration::from_secs(1);
    let mut ever_up = false;
    let mut attempt: u32 = 0;
    let mut standing_by = false;
    let metric = crate::metrics::Domain::from_section(section);
    let up = |is_up: bool| {
        if let Some(d) = metric {
            crate::metrics::get().link(d, is_up);
        }
    };
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        attempt += 1;
        if standing_by {
            tracing::debug!(domain = %cfg.domain, host = %cfg.host, port = cfg.port, attempt, "connecting");
        } else {
            tracing::info!(domain = %cfg.domain, host = %cfg.host, port = cfg.port, attempt, "connecting");
        }
        let connected = tokio::select! {
            r = connect(&cfg) => r,
            _ = shutdown.changed() => return Ok(()),
        };
        match connected {
            Ok((stream, slot, dropped)) => {
                tracing::info!(domain = %cfg.domain, took_over = standing_by, "link up");
                state.send_replace(LinkState::Up);
                ever_up = true;
                attempt = 0;
                backoff = Duration::from_secs(1);
                up(true);
                let end = session::run(&cfg, stream, slot, dropped, &inbound, &mut inbox, &mut shutdown, metric).await;
                up(false);
                state.send_replace(LinkState::Down);
                match end {
                    session::End::Shutdown => {
                        tracing::info!(domain = %cfg.domain, "link closed for shutdown");
                        return Ok(());
                    }
                    session::End::Lost(why) => tracing::warn!(domain = %cfg.domain, reason = %why, "link lost; reconnecting"),
                }
            }
            Err(AttemptError::Auth(reason)) if !ever_up => {
                return Err(LinkError::Auth { domain: cfg.domain.clone(), host: cfg.host.clone(), port: cfg.port, section, reason });
            }
            Err(AttemptError::Held(why)) => {
                // Said once per wait; each retry at debug.
                if !standing_by {
                    tracing::info!(domain = %cfg.domain, reason = %why, every = ?STANDBY_RETRY, "domain held by another connection (another instance?): standing by");
                    standing_by = true;
                } else {
                    tracing::debug!(domain = %cfg.domain, "domain still held; standing by");
                }
                tokio::select! {
                    _ = tokio::time::sleep(STANDBY_RETRY) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
                continue;
            }
            Err(e) => tracing::warn!(domain = %cfg.domain, error = %e, retry_in = ?backoff, "connection attempt failed"),
        }
        standing_by = false;
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return Ok(()),
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}

/// Opens the TCP connection, the stream, and performs the handshake.
async fn connect(cfg: &LinkConfig) -> Result<(Stream, io::WriteSlot, mpsc::Receiver<framer::Dropped>), AttemptError> {
    let io_err = |e: std::io::Error| AttemptError::Io(e.to_string());
    let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect((cfg.host.as_str(), cfg.port)))
        .await
        .map_err(|_| AttemptError::Io("connect timed out".into()))?
        .map_err(io_err)?;
    tcp.set_nodelay(true).map_err(io_err)?;
    let timeouts = Timeouts { read_timeout: cfg.keepalive, response_timeout: Duration::from_secs(20) };
    let header = StreamHeader { to: Some(Cow::Owned(cfg.domain.clone())), from: None, id: None };
    let (link_io, slot, dropped) = io::LinkIo::new(tcp, cfg.max_stanza_bytes);
    let mut pending = tokio::time::timeout(Duration::from_secs(10), initiate_stream(link_io, xmpp_parsers::ns::COMPONENT, header, timeouts))
        .await
        .map_err(|_| AttemptError::Io("no stream header from the server".into()))?
        .map_err(io_err)?;
    let stream_id = pending
        .take_header()
        .id
        .map(|i| i.into_owned())
        .ok_or_else(|| AttemptError::Io("the server sent no stream id".into()))?;
    let mut stream: Stream = pending.skip_features();
    stream
        .send(&XmppStreamElement::ComponentHandshake(Handshake::from_stream_id_and_password(stream_id, cfg.secret.expose())))
        .await
        .map_err(io_err)?;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .map_err(|_| AttemptError::Io("no answer to the handshake".into()))?;
        match next {
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::ComponentHandshake(_)))) => return Ok((stream, slot, dropped)),
            // `conflict`: the server holds another link for this domain: an
            // earlier one of ours not yet noticed gone, or another instance
            // (Prosody takes one per domain): retried every
            // `STANDBY_RETRY`, so that a standby takes over at once.
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) if e.0.condition == DefinedCondition::Conflict => {
                return Err(AttemptError::Held(e.0.to_string()))
            }
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) => return Err(AttemptError::Auth(e.0.to_string())),
            Some(Ok(other)) => return Err(AttemptError::Io(format!("unexpected answer to the handshake: {other:?}"))),
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(ReadError::StreamFooterReceived)) | None => return Err(AttemptError::Auth("the server closed the stream".into())),
            Some(Err(e)) => return Err(AttemptError::Io(e.to_string())),
        }
    }
}
