//! One authenticated connection: read, write, keep alive, until it ends.

use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_xmpp::xmlstream::{FallibleStreamElement, ReadError, StreamElementError, XmppStreamElement};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ping::Ping;
use xmpp_parsers::stanza::Stanza;

use super::{LinkConfig, Stream};
use crate::error::Error;
use crate::xmpp::reply;

pub enum End {
    Shutdown,
    Lost(String),
}

/// Most stanzas written before one flush.
const BATCH: usize = 256;

pub async fn run(
    cfg: &LinkConfig,
    mut stream: Stream,
    inbound: &mpsc::Sender<Stanza>,
    outbound: &mut mpsc::Receiver<Stanza>,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let mut pings: u64 = 0;
    loop {
        tokio::select! {
            item = stream.next() => match item {
                None => return End::Lost("connection closed".into()),
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(s)))) => {
                    tracing::trace!(domain = %cfg.domain, stanza = ?s, "in");
                    if inbound.send(s).await.is_err() {
                        return End::Shutdown;
                    }
                }
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) => {
                    return End::Lost(format!("stream error from the server: {}", e.0));
                }
                Some(Ok(FallibleStreamElement::Ok(other))) => {
                    tracing::warn!(domain = %cfg.domain, element = ?other, "ignoring unexpected stream element");
                }
                Some(Ok(FallibleStreamElement::Err(StreamElementError::InvalidStanza { name, header, error, .. }))) => {
                    tracing::warn!(domain = %cfg.domain, kind = %name, id = ?header.id, from = ?header.from, %error, "malformed stanza");
                    let err = Error::bad_request(format!("malformed stanza: {error}"));
                    let kind = name.to_string();
                    if let Some(r) = reply::raw_error_reply(&kind, header.from.as_deref(), header.to.as_deref(), header.id.as_deref(), header.type_.as_deref(), &err) {
                        if let Err(e) = stream.send(&XmppStreamElement::Stanza(r)).await {
                            return End::Lost(e.to_string());
                        }
                    }
                }
                Some(Ok(FallibleStreamElement::Err(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "ignoring malformed stream element");
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    pings += 1;
                    let me: Jid = match cfg.domain.parse() { Ok(j) => j, Err(_) => return End::Lost("invalid domain".into()) };
                    let ping = Iq::Get { from: Some(me.clone()), to: Some(me), id: format!("keepalive-{pings}"), payload: Ping.into() };
                    tracing::debug!(domain = %cfg.domain, "idle link: pinging");
                    if let Err(e) = stream.send(&XmppStreamElement::Stanza(Stanza::Iq(ping))).await {
                        return End::Lost(e.to_string());
                    }
                }
                Some(Err(ReadError::ParseError(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "unparsable element skipped");
                }
                Some(Err(ReadError::HardError(e))) => return End::Lost(e.to_string()),
                Some(Err(ReadError::StreamFooterReceived)) => return End::Lost("the server closed the stream".into()),
            },
            out = outbound.recv() => {
                let Some(first) = out else { return End::Shutdown };
                if let Err(e) = write_batch(cfg, &mut stream, first, outbound).await {
                    return End::Lost(e.to_string());
                }
            }
            _ = shutdown.changed() => {
                // Send what is queued, then close the stream politely.
                while let Ok(s) = outbound.try_recv() {
                    if stream.feed(&XmppStreamElement::Stanza(s)).await.is_err() {
                        break;
                    }
                }
                let _flushed = SinkExt::<&XmppStreamElement>::flush(&mut stream).await;
                let _closed = tokio::time::timeout(std::time::Duration::from_secs(2), SinkExt::<&XmppStreamElement>::close(&mut stream)).await;
                return End::Shutdown;
            }
        }
    }
}

async fn write_batch(cfg: &LinkConfig, stream: &mut Stream, first: Stanza, outbound: &mut mpsc::Receiver<Stanza>) -> std::io::Result<()> {
    write_one(cfg, stream, first).await?;
    for _ in 1..BATCH {
        match outbound.try_recv() {
            Ok(s) => write_one(cfg, stream, s).await?,
            Err(_) => break,
        }
    }
    SinkExt::<&XmppStreamElement>::flush(stream).await
}

/// Queues one stanza for writing. The stanza itself is serialised, not
/// wrapped in `XmppStreamElement::Stanza`: the wrappers are transparent
/// (same bytes), but their generated serialisers copy the inner
/// serialiser's whole state on every XML item. Messages, the bulk of a
/// fan-out, go through `fast::MessageXml` (same bytes, see there).
async fn write_one(cfg: &LinkConfig, stream: &mut Stream, s: Stanza) -> std::io::Result<()> {
    tracing::trace!(domain = %cfg.domain, stanza = ?s, "out");
    match &s {
        Stanza::Message(m) => stream.feed(&super::fast::MessageXml(m)).await,
        Stanza::Presence(p) => stream.feed(p).await,
        Stanza::Iq(i) => stream.feed(i).await,
    }
}
