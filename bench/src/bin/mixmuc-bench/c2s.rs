//! Client sessions (c2s, no TLS): connect, optional in-band registration
//! (XEP-0077), SASL PLAIN, resource bind, initial presence; MUC and MIX
//! (XEP-0405 client-join) joins; then a reader and a writer task per session
//! for the measurement.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::frame::{self, esc, Frame, Framer};
use crate::stats::Shared;

pub const NS_CLIENT: &str = "jabber:client";
/// Seconds any one setup exchange (connect, auth, bind, join) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ClientCfg {
    pub server: String,
    pub domain: String,
    pub password: String,
    pub register: bool,
}

/// One received frame, owned (setup phase).
#[derive(Debug)]
pub enum In {
    Header(Vec<u8>),
    Stanza(Vec<u8>),
    End,
}

/// A connection during the setup phase.
pub struct Conn {
    pub tcp: TcpStream,
    pub fr: Framer,
    pub jid: String,
}

impl Conn {
    pub async fn connect(addr: &str) -> Result<Conn, String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn { tcp, fr: Framer::new(), jid: String::new() })
    }

    pub async fn send(&mut self, data: &str) -> Result<(), String> {
        self.tcp.write_all(data.as_bytes()).await.map_err(|e| format!("write: {e}"))
    }

    pub async fn recv(&mut self) -> Result<In, String> {
        loop {
            if let Some(f) = self.fr.next_frame()? {
                return Ok(match f {
                    Frame::Header(r) => In::Header(self.fr.bytes(&r).to_vec()),
                    Frame::Stanza(r) => In::Stanza(self.fr.bytes(&r).to_vec()),
                    Frame::End => In::End,
                });
            }
            self.fr.compact();
            self.fr.reserve(16 * 1024);
            let n = tokio::time::timeout(SETUP_TIMEOUT, self.tcp.read_buf(&mut self.fr.buf))
                .await
                .map_err(|_| format!("no answer within {}s", SETUP_TIMEOUT.as_secs()))?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed by the server".into());
            }
        }
    }

    pub async fn recv_stanza(&mut self) -> Result<Vec<u8>, String> {
        match self.recv().await? {
            In::Stanza(s) => Ok(s),
            In::Header(_) => Err("unexpected stream header".into()),
            In::End => Err("the server closed the stream".into()),
        }
    }

    /// Waits for the IQ answer with this id (other stanzas are dropped).
    pub async fn await_iq(&mut self, id: &str) -> Result<Vec<u8>, String> {
        loop {
            let s = self.recv_stanza().await?;
            if frame::name(&s) == b"iq" && frame::attr(&s, "id") == Some(id.as_bytes()) {
                return Ok(s);
            }
            if is_stream_error(&s) {
                return Err(format!("stream error: {}", String::from_utf8_lossy(&s)));
            }
        }
    }

    /// Opens (or restarts) the stream; returns the features element.
    async fn open_stream(&mut self, domain: &str) -> Result<Vec<u8>, String> {
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{}' version='1.0'>",
            esc(domain)
        ))
        .await?;
        match self.recv().await? {
            In::Header(_) => {}
            other => return Err(format!("expected a stream header, got {other:?}")),
        }
        let features = self.recv_stanza().await?;
        if !frame::name(&features).ends_with(b"features") {
            return Err(format!("expected stream features, got {}", String::from_utf8_lossy(&features)));
        }
        Ok(features)
    }
}

fn is_stream_error(s: &[u8]) -> bool {
    frame::name(s).ends_with(b":error") || frame::name(s) == b"error"
}

pub fn is_type(s: &[u8], t: &str) -> bool {
    frame::attr(s, "type") == Some(t.as_bytes())
}

/// Connects, registers if asked, authenticates and binds `user`; sends initial presence.
pub async fn login(cfg: &ClientCfg, user: &str, resource: &str) -> Result<Conn, String> {
    let jid = format!("{user}@{}", cfg.domain);
    let fail = |what: &str, e: String| format!("{jid}: {what}: {e}");
    let mut c = Conn::connect(&cfg.server).await.map_err(|e| fail("connect", e))?;
    let features = c.open_stream(&cfg.domain).await.map_err(|e| fail("stream", e))?;
    if cfg.register {
        c.send(&format!(
            "<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>{}</username><password>{}</password></query></iq>",
            esc(user),
            esc(&cfg.password)
        ))
        .await?;
        let r = c.await_iq("reg").await.map_err(|e| fail("register", e))?;
        if is_type(&r, "error") && frame::find(&r, b"<conflict").is_none() {
            return Err(fail("register", String::from_utf8_lossy(&r).into_owned()));
        }
    }
    if frame::find(&features, b">PLAIN<").is_none() {
        return Err(fail("auth", format!("the server offers no SASL PLAIN: {}", String::from_utf8_lossy(&features))));
    }
    let mut plain = Vec::new();
    plain.push(0);
    plain.extend_from_slice(user.as_bytes());
    plain.push(0);
    plain.extend_from_slice(cfg.password.as_bytes());
    c.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>", base64(&plain))).await?;
    loop {
        let s = c.recv_stanza().await.map_err(|e| fail("auth", e))?;
        match frame::name(&s) {
            b"success" => break,
            b"failure" => return Err(fail("auth", String::from_utf8_lossy(&s).into_owned())),
            _ => {}
        }
    }
    c.fr.reset();
    c.open_stream(&cfg.domain).await.map_err(|e| fail("stream restart", e))?;
    c.send(&format!(
        "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{}</resource></bind></iq>",
        esc(resource)
    ))
    .await?;
    let r = c.await_iq("bind").await.map_err(|e| fail("bind", e))?;
    if !is_type(&r, "result") {
        return Err(fail("bind", String::from_utf8_lossy(&r).into_owned()));
    }
    c.jid = frame::parse(&r, NS_CLIENT)
        .ok()
        .and_then(|e| e.children().next().and_then(|b| b.children().next()).map(|j| j.text()))
        .unwrap_or_else(|| format!("{jid}/{resource}"));
    c.send("<presence/>").await?;
    Ok(c)
}

pub fn has_status(s: &[u8], code: &str) -> bool {
    frame::find(s, format!("code='{code}'").as_bytes()).is_some() || frame::find(s, format!("code=\"{code}\"").as_bytes()).is_some()
}

/// Enters a MUC room; the creator submits the instant-room form when the room is new (201).
pub async fn muc_join(c: &mut Conn, room: &str, nick: &str, creator: bool) -> Result<(), String> {
    c.send(&format!(
        "<presence to='{}/{}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>",
        esc(room),
        esc(nick)
    ))
    .await?;
    let prefix = format!("{room}/");
    loop {
        let s = c.recv_stanza().await.map_err(|e| format!("{}: join {room}: {e}", c.jid))?;
        if frame::name(&s) != b"presence" || !frame::attr(&s, "from").is_some_and(|f| f.starts_with(prefix.as_bytes())) {
            continue;
        }
        if is_type(&s, "error") {
            return Err(format!("{}: join {room} refused: {}", c.jid, String::from_utf8_lossy(&s)));
        }
        if has_status(&s, "110") {
            if creator && has_status(&s, "201") {
                c.send(&format!(
                    "<iq type='set' id='cfg' to='{}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
                    esc(room)
                ))
                .await?;
                // An error is tolerated: mixmuc's rooms are instant rooms already.
                c.await_iq("cfg").await.map_err(|e| format!("{}: configure {room}: {e}", c.jid))?;
            }
            return Ok(());
        }
    }
}

/// Creates a MIX channel (an existing one is fine).
pub async fn mix_create(c: &mut Conn, mix_domain: &str, name: &str) -> Result<(), String> {
    c.send(&format!("<iq type='set' id='create' to='{}'><create xmlns='urn:xmpp:mix:core:1' channel='{}'/></iq>", esc(mix_domain), esc(name)))
        .await?;
    let r = c.await_iq("create").await.map_err(|e| format!("{}: create {name}: {e}", c.jid))?;
    if is_type(&r, "error") && frame::find(&r, b"<conflict").is_none() {
        eprintln!("mixmuc-bench: {}: create {name}: {} (joining anyway)", c.jid, String::from_utf8_lossy(&r));
    }
    Ok(())
}

fn bare(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

/// Joins a MIX channel through the user's server (XEP-0405 client-join).
pub async fn mix_join(c: &mut Conn, channel: &str, nick: &str) -> Result<(), String> {
    c.send(&format!(
        "<iq type='set' id='join' to='{}'><client-join xmlns='urn:xmpp:mix:pam:2' channel='{}'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{}</nick></join></client-join></iq>",
        esc(bare(&c.jid)),
        esc(channel),
        esc(nick)
    ))
    .await?;
    let r = c.await_iq("join").await.map_err(|e| format!("{}: join {channel}: {e}", c.jid))?;
    if !is_type(&r, "result") {
        return Err(format!("{}: join {channel} refused: {}", c.jid, String::from_utf8_lossy(&r)));
    }
    Ok(())
}

pub fn client_leave(jid: &str, channel: &str, id: &str) -> String {
    format!(
        "<iq type='set' id='{id}' to='{}'><client-leave xmlns='urn:xmpp:mix:pam:2' channel='{}'><leave xmlns='urn:xmpp:mix:core:1'/></client-leave></iq>",
        esc(bare(jid)),
        esc(channel)
    )
}

/// Counters of the running sessions.
#[derive(Default)]
pub struct Ctl {
    pub leaves: AtomicUsize,
    pub closed: AtomicUsize,
}

/// A session in the measurement phase.
pub struct Running {
    pub tx: mpsc::UnboundedSender<Vec<u8>>,
    pub jid: String,
    pub reader: JoinHandle<()>,
    pub writer: JoinHandle<()>,
}

/// Quotes a raw attribute value with a quote character it does not contain.
pub fn quoted(raw: &[u8]) -> String {
    let v = String::from_utf8_lossy(raw);
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

/// The answer to an IQ get/set the tool does not serve.
pub fn iq_unavailable(s: &[u8]) -> Option<String> {
    let id = frame::attr(s, "id")?;
    let to = frame::attr(s, "from").map(|f| format!(" to={}", quoted(f))).unwrap_or_default();
    Some(format!(
        "<iq type='error' id={}{to}><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        quoted(id)
    ))
}

/// Hands the connection to a reader task (accounting) and a writer task.
pub fn spawn(conn: Conn, idx: usize, shared: Arc<Shared>, ctl: Arc<Ctl>) -> Running {
    let Conn { tcp, mut fr, jid } = conn;
    let (mut rd, wr) = tcp.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut w = BufWriter::with_capacity(32 * 1024, wr);
        // An empty buffer asks for the end of the stream.
        'run: while let Some(first) = rx.recv().await {
            if first.is_empty() {
                break 'run;
            }
            if w.write_all(&first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if more.is_empty() {
                    break 'run;
                }
                if w.write_all(&more).await.is_err() {
                    return;
                }
            }
            if w.flush().await.is_err() {
                return;
            }
        }
        let _ = w.write_all(b"</stream:stream>").await;
        let _ = w.flush().await;
        let _ = w.shutdown().await;
    });
    let reply = tx.clone();
    let reader = tokio::spawn(async move {
        'outer: loop {
            loop {
                match fr.next_frame() {
                    Ok(Some(Frame::Stanza(r))) => {
                        let s = &fr.buf[r];
                        match frame::name(s) {
                            b"message" => {
                                if !shared.on_message(idx, s) && is_type(s, "error") {
                                    shared.errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            b"presence" => {
                                if is_type(s, "error") {
                                    shared.errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            b"iq" => {
                                let leave = frame::attr(s, "id").is_some_and(|i| i.starts_with(b"leave"));
                                if is_type(s, "set") && frame::find(s, b"jabber:iq:roster").is_some() {
                                    // A roster push (e.g. mod_mix_pam adding the channel) is acknowledged.
                                    if let Some(id) = frame::attr(s, "id") {
                                        let _ = reply.send(format!("<iq type='result' id={}/>", quoted(id)).into_bytes());
                                    }
                                } else if is_type(s, "get") || is_type(s, "set") {
                                    if let Some(a) = iq_unavailable(s) {
                                        let _ = reply.send(a.into_bytes());
                                    }
                                } else if leave {
                                    ctl.leaves.fetch_add(1, Ordering::Relaxed);
                                } else if is_type(s, "error") {
                                    shared.errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            _ => {}
                        }
                    }
                    Ok(Some(Frame::End)) | Err(_) => break 'outer,
                    Ok(Some(Frame::Header(_))) => {}
                    Ok(None) => break,
                }
            }
            fr.compact();
            fr.reserve(16 * 1024);
            match rd.read_buf(&mut fr.buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        drop(reply);
        ctl.closed.fetch_add(1, Ordering::Relaxed);
    });
    Running { tx, jid, reader, writer }
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                o.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
        assert_eq!(super::base64(b"\0alice\0pass"), "AGFsaWNlAHBhc3M=");
    }
}
