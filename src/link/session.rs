//! One authenticated connection: read, write, keep alive, until it ends.
//!
//! Reads go through tokio-xmpp's stream (parsing, malformed-stanza
//! recovery, read timeouts); writes go straight to the socket's write
//! half: the chunks of the link's queue (`queue`, serialised by the
//! dispatcher's end), and the link's own stanzas (pings, the multicast
//! probe, errors for what it could not read) through a `writer::Writer`.
//!
//! The link never waits on the dispatcher while it has something to
//! write: a stanza read while the dispatcher's queue is full is held
//! (and nothing more is read) until there is room, and the queue's chunks
//! keep being written meanwhile. Otherwise a full queue each way would
//! leave the link waiting for the dispatcher and the dispatcher for the
//! link, for good. A shutdown interrupts a write that the server does not
//! take: what is queued is then written for at most `CLOSE_WAIT`.

use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio_xmpp::xmlstream::{FallibleStreamElement, ReadError, StreamElementError, XmppStreamElement};
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ping::Ping;
use xmpp_parsers::stanza::Stanza;

use super::framer::Dropped;
use crate::metrics::{self, Domain, Kind};
use super::io::WriteSlot;
use super::queue::Inbox;
use super::writer::{MulticastSwitch, Writer};
use super::{LinkConfig, Stream};
use crate::error::Error;
use crate::xmpp::reply;

pub enum End {
    Shutdown,
    Lost(String),
}

/// The id prefix of the multicast service probe (disco#info); a random
/// part is added at each link-up, and only the service asked may answer.
const PROBE_ID: &str = "mixmuc-multicast-probe-";
/// How long a shutdown may spend writing what is queued and closing the
/// stream (a server that does not read gets no more).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Why the session's loop stopped.
enum Stop {
    /// Shutdown (or the dispatcher gone): write `rest` (what an
    /// interrupted write had left), then what is queued, then close.
    Shutdown(Vec<u8>),
    Lost(String),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Lost(e.to_string())
    }
}

/// Writes `bytes`, unless the shutdown comes first: then `Stop::Shutdown`
/// with what was left unwritten.
async fn write(w: &mut OwnedWriteHalf, bytes: &[u8], shutdown: &mut watch::Receiver<bool>) -> Result<(), Stop> {
    let mut at = 0;
    while at < bytes.len() {
        tokio::select! {
            r = w.write(&bytes[at..]) => match r? {
                0 => return Err(Stop::Lost("the connection takes no more bytes".into())),
                n => at += n,
            },
            _ = shutdown.changed() => return Err(Stop::Shutdown(bytes[at..].to_vec())),
        }
    }
    Ok(())
}

/// The socket's write half and the writer of the link's own stanzas.
struct Wire {
    w: OwnedWriteHalf,
    writer: Writer,
}

impl Wire {
    /// Serialises and writes one of the link's own stanzas.
    async fn own(&mut self, s: &Stanza, shutdown: &mut watch::Receiver<bool>) -> Result<(), Stop> {
        self.writer.buf.clear();
        if let Err(e) = self.writer.stanza(s) {
            self.writer.buf.clear();
            self.writer.reset_encoder();
            tracing::error!(error = %e, stanza = ?s, "a stanza of the link's own cannot be serialised; dropped");
            return Ok(());
        }
        let r = write(&mut self.w, &self.writer.buf, shutdown).await;
        self.writer.buf.clear();
        r
    }

    /// After a shutdown: what an interrupted write left, what is queued,
    /// the stream's end, for at most `CLOSE_WAIT`.
    async fn close(&mut self, rest: &[u8], inbox: &mut Inbox) {
        let done = tokio::time::timeout(CLOSE_WAIT, async {
            self.w.write_all(rest).await?;
            while let Ok(chunk) = inbox.rx.try_recv() {
                self.w.write_all(&chunk.bytes).await?;
            }
            self.w.write_all(b"</stream:stream>").await?;
            self.w.shutdown().await
        })
        .await;
        if done.is_err() {
            tracing::warn!(queued = inbox.gauge().queued(), "shutdown: the server did not take what was queued within {CLOSE_WAIT:?}; the rest is not sent");
        }
    }
}

pub async fn run(
    cfg: &LinkConfig,
    stream: Stream,
    slot: WriteSlot,
    dropped: mpsc::Receiver<Dropped>,
    inbound: &mpsc::Sender<Stanza>,
    inbox: &mut Inbox,
    shutdown: &mut watch::Receiver<bool>,
    metric: Option<Domain>,
) -> End {
    let Some(w) = slot.take() else { return End::Lost("no write half".into()) };
    let mut out = Wire { w, writer: Writer::new() };
    // A new connection: one stanza per recipient until the service says otherwise.
    inbox.multicast.set(None, false);
    match pump(cfg, stream, &mut out, dropped, inbound, inbox, shutdown, metric).await {
        Stop::Lost(why) => End::Lost(why),
        Stop::Shutdown(rest) => {
            out.close(&rest, inbox).await;
            End::Shutdown
        }
    }
}

/// The read/write loop.
async fn pump(
    cfg: &LinkConfig,
    mut stream: Stream,
    out: &mut Wire,
    mut dropped: mpsc::Receiver<Dropped>,
    inbound: &mpsc::Sender<Stanza>,
    inbox: &mut Inbox,
    shutdown: &mut watch::Receiver<bool>,
    metric: Option<Domain>,
) -> Stop {
    let counted = |kind: Kind| {
        if let Some(d) = metric {
            metrics::get().stanza_in(d, kind);
        }
    };
    let error_sent = |err: &Error| {
        if metric.is_some() {
            metrics::get().error_sent(&err.condition_name());
        }
    };
    let me: Jid = match cfg.domain.parse() {
        Ok(j) => j,
        Err(_) => return Stop::Lost("invalid domain".into()),
    };
    let probe_id = format!("{PROBE_ID}{:016x}", rand::random::<u64>());
    if let Some(service) = &cfg.multicast {
        // Asked at every link-up: the server may have been reconfigured.
        let probe = Iq::Get { from: Some(me.clone()), to: Some(service.clone()), id: probe_id.clone(), payload: DiscoInfoQuery { node: None }.into() };
        if let Err(stop) = out.own(&Stanza::Iq(probe), shutdown).await {
            return stop;
        }
    }
    let mut pings: u64 = 0;
    // A stanza read that the dispatcher has no room for yet: nothing more
    // is read until it is handed over (the server's buffers take over),
    // while the queue's chunks keep being written.
    let mut held: Option<Stanza> = None;
    loop {
        let step: Result<(), Stop> = tokio::select! {
            permit = inbound.reserve(), if held.is_some() => match (permit, held.take()) {
                (Ok(p), Some(s)) => {
                    p.send(s);
                    Ok(())
                }
                _ => Err(Stop::Shutdown(Vec::new())),
            },
            item = stream.next(), if held.is_none() => match item {
                None => Err(Stop::Lost("connection closed".into())),
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(Stanza::Iq(iq))))) if is_probe_answer(cfg, &probe_id, &iq) => {
                    multicast_answer(cfg, &inbox.multicast, iq);
                    Ok(())
                }
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(s)))) => {
                    tracing::trace!(domain = %cfg.domain, stanza = ?s, "in");
                    counted(match &s {
                        Stanza::Message(_) => Kind::Message,
                        Stanza::Presence(_) => Kind::Presence,
                        Stanza::Iq(_) => Kind::Iq,
                    });
                    match inbound.try_send(s) {
                        Ok(()) => Ok(()),
                        Err(mpsc::error::TrySendError::Full(s)) => {
                            held = Some(s);
                            Ok(())
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => Err(Stop::Shutdown(Vec::new())),
                    }
                }
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) => {
                    Err(Stop::Lost(format!("stream error from the server: {}", e.0)))
                }
                Some(Ok(FallibleStreamElement::Ok(other))) => {
                    tracing::warn!(domain = %cfg.domain, element = ?other, "ignoring unexpected stream element");
                    Ok(())
                }
                Some(Ok(FallibleStreamElement::Err(StreamElementError::InvalidStanza { name, header, error, .. }))) => {
                    tracing::warn!(domain = %cfg.domain, kind = %name, id = ?header.id, from = ?header.from, %error, "malformed stanza");
                    let err = Error::bad_request("malformed stanza");
                    error_sent(&err);
                    let kind = name.to_string();
                    match reply::raw_error_reply(&kind, header.from.as_deref(), header.to.as_deref(), header.id.as_deref(), header.type_.as_deref(), &err) {
                        Some(r) => out.own(&r, shutdown).await,
                        None => Ok(()),
                    }
                }
                Some(Ok(FallibleStreamElement::Err(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "ignoring malformed stream element");
                    Ok(())
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    pings += 1;
                    let ping = Iq::Get { from: Some(me.clone()), to: Some(me.clone()), id: format!("keepalive-{pings}"), payload: Ping.into() };
                    tracing::debug!(domain = %cfg.domain, "idle link: pinging");
                    out.own(&Stanza::Iq(ping), shutdown).await
                }
                Some(Err(ReadError::ParseError(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "unparsable element skipped");
                    Ok(())
                }
                Some(Err(ReadError::HardError(e))) => Err(Stop::Lost(e.to_string())),
                Some(Err(ReadError::StreamFooterReceived)) => Err(Stop::Lost("the server closed the stream".into())),
            },
            // A stanza the framer dropped (too large, or a name or value
            // the parser would refuse): its sender is told.
            Some(d) = dropped.recv() => {
                let err = Error::policy_violation(if d.why == "too large" { "stanza too large" } else { "a name or value in this stanza is too long" });
                error_sent(&err);
                let to = d.to.clone().or_else(|| Some(cfg.domain.clone()));
                match reply::raw_error_reply(&d.kind, d.from.as_deref(), to.as_deref(), d.id.as_deref(), d.type_.as_deref(), &err) {
                    Some(r) => out.own(&r, shutdown).await,
                    None => Ok(()),
                }
            }
            // The queue's next chunk; its room in the queue is given back
            // once it is written (when `chunk` is dropped).
            chunk = inbox.rx.recv() => match chunk {
                Some(chunk) => write(&mut out.w, &chunk.bytes, shutdown).await,
                None => Err(Stop::Shutdown(Vec::new())),
            },
            _ = shutdown.changed() => Err(Stop::Shutdown(Vec::new())),
        };
        if let Err(stop) = step {
            if let (Stop::Shutdown(_), Some(s)) = (&stop, held.take()) {
                // Read, not yet handed over: the dispatcher still handles
                // what it can get during the shutdown.
                let _ = inbound.try_send(s);
            }
            return stop;
        }
    }
}

/// The answer to this link-up's probe, from the service asked (anyone else
/// could otherwise switch multicast on or off).
fn is_probe_answer(cfg: &LinkConfig, probe_id: &str, iq: &Iq) -> bool {
    match iq {
        Iq::Result { id, from, .. } | Iq::Error { id, from, .. } => id == probe_id && cfg.multicast.is_some() && from.as_ref() == cfg.multicast.as_ref(),
        _ => false,
    }
}

/// The multicast service's disco#info answer: multicast on if it has the feature.
fn multicast_answer(cfg: &LinkConfig, switch: &MulticastSwitch, iq: Iq) {
    let Some(service) = &cfg.multicast else { return };
    let features = match iq {
        Iq::Result { payload: Some(p), .. } => DiscoInfoResult::try_from(p).ok().map(|r| r.features),
        _ => None,
    };
    use super::writer::{ADDRESS_NS, RECIPIENTS_NS};
    let has = |ns: &str| features.as_ref().is_some_and(|f| f.iter().any(|f| f == ns));
    if has(ADDRESS_NS) {
        let compact = has(RECIPIENTS_NS);
        let form = if compact { "compact recipient lists" } else { "bcc addresses" };
        tracing::info!(domain = %cfg.domain, service = %service, form, "room messages go through the server's multicast service (XEP-0033)");
        switch.set(Some(service), compact);
    } else {
        tracing::warn!(domain = %cfg.domain, service = %service, "[server] multicast: the service does not announce XEP-0033 multicast; sending one stanza per recipient");
        switch.set(None, false);
    }
}
