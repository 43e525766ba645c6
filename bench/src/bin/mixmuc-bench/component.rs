//! component mode (S5): the tool is the XMPP server mixmuc attaches to
//! (XEP-0114, server side) and the users' server at once: synthetic users
//! enter rooms and join channels, then send at the offered rate, and every
//! stanza mixmuc sends is counted.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use xmpp_parsers::component::Handshake;

use crate::c2s::{is_type, quoted, has_status, In, Conn};
use crate::frame::{self, esc, Frame};
use crate::json::Json;
use crate::stats::{Layout, Shared};
use crate::steps::{self, Limits, StepPlan, Watched};

pub const NS_COMPONENT: &str = "jabber:component:accept";
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Params {
    pub listen: String,
    pub mix_domain: String,
    pub mix_secret: String,
    pub muc_domain: String,
    pub muc_secret: String,
    pub user_domain: String,
    pub accept_timeout: f64,
    pub layout: Layout,
    pub plans: Vec<StepPlan>,
    pub limits: Limits,
    pub watched: Watched,
    pub concurrency: usize,
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>;

/// One authenticated component link.
struct Link {
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Server side of the XEP-0114 handshake; returns the domain.
async fn accept_component(c: &mut Conn, secrets: &[(String, String)], id: &str) -> Result<String, String> {
    let header = match c.recv().await? {
        In::Header(h) => h,
        other => return Err(format!("expected a stream header, got {other:?}")),
    };
    let domain = frame::attr(&header, "to").map(|d| String::from_utf8_lossy(d).into_owned()).unwrap_or_default();
    c.send(&format!(
        "<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' from='{}' id='{id}'>",
        esc(&domain)
    ))
    .await?;
    let Some((_, secret)) = secrets.iter().find(|(d, _)| *d == domain) else {
        let _ = c.send("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>").await;
        return Err(format!("a component connected for the unknown domain '{domain}'"));
    };
    let hs = c.recv_stanza().await?;
    let got = frame::parse(&hs, NS_COMPONENT)?.text().trim().to_ascii_lowercase();
    let want = Handshake::from_stream_id_and_password(id.to_string(), secret).data.map(|d| hex(&d)).unwrap_or_default();
    if got != want {
        let _ = c.send("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>").await;
        return Err(format!("{domain}: wrong component secret"));
    }
    c.send("<handshake/>").await?;
    Ok(domain)
}

/// The user index of a JID `u<i>@…`.
fn user_index(jid: &[u8]) -> Option<usize> {
    let rest = jid.strip_prefix(b"u")?;
    let end = rest.iter().position(|&b| b == b'@')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

fn spawn_link(c: Conn, shared: Arc<Shared>, waiters: Waiters) -> Link {
    let Conn { tcp, mut fr, .. } = c;
    let (mut rd, wr) = tcp.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let mut w = BufWriter::with_capacity(64 * 1024, wr);
        while let Some(first) = rx.recv().await {
            if w.write_all(&first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if w.write_all(&more).await.is_err() {
                    return;
                }
            }
            if w.flush().await.is_err() {
                return;
            }
        }
    });
    let reply = tx.clone();
    tokio::spawn(async move {
        'outer: loop {
            loop {
                match fr.next_frame() {
                    Ok(Some(Frame::Stanza(r))) => {
                        let s = &fr.buf[r];
                        shared.stanzas_in.fetch_add(1, Ordering::Relaxed);
                        let to = frame::attr(s, "to").and_then(user_index);
                        match frame::name(s) {
                            b"message" => {
                                let taken = to.is_some_and(|i| shared.on_message(i, s));
                                if !taken && is_type(s, "error") {
                                    shared.errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            b"presence" => {
                                let error = is_type(s, "error");
                                if error {
                                    shared.errors.fetch_add(1, Ordering::Relaxed);
                                }
                                if let Some(i) = to.filter(|_| error || has_status(s, "110")) {
                                    if let Some(w) = waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&format!("join:{i}")) {
                                        let _ = w.send(s.to_vec());
                                    }
                                }
                            }
                            b"iq" if is_type(s, "get") || is_type(s, "set") => {
                                // mixmuc's pings (and anything else it asks the server) get a result.
                                if let Some(id) = frame::attr(s, "id") {
                                    let from = frame::attr(s, "to").map(|v| format!(" from={}", quoted(v))).unwrap_or_default();
                                    let to = frame::attr(s, "from").map(|v| format!(" to={}", quoted(v))).unwrap_or_default();
                                    let _ = reply.send(format!("<iq type='result' id={}{from}{to}/>", quoted(id)).into_bytes());
                                }
                            }
                            b"iq" => {
                                let id = frame::attr(s, "id").map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
                                let w = waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&format!("iq:{id}"));
                                match w {
                                    Some(w) => {
                                        let _ = w.send(s.to_vec());
                                    }
                                    None if is_type(s, "error") => {
                                        shared.errors.fetch_add(1, Ordering::Relaxed);
                                    }
                                    None => {}
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
            fr.reserve(64 * 1024);
            match rd.read_buf(&mut fr.buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        eprintln!("mixmuc-bench: a component link closed");
    });
    Link { tx }
}

async fn exchange(link: &Link, waiters: &Waiters, key: String, stanza: String) -> Result<Vec<u8>, String> {
    let (tx, rx) = oneshot::channel();
    waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), tx);
    link.tx.send(stanza.into_bytes()).map_err(|_| "the component link is gone".to_string())?;
    match tokio::time::timeout(SETUP_TIMEOUT, rx).await {
        Ok(Ok(s)) => Ok(s),
        _ => Err(format!("no answer for {key} within {}s", SETUP_TIMEOUT.as_secs())),
    }
}

pub async fn run(p: Params, shared: Arc<Shared>) -> Result<(Json, Vec<Json>), String> {
    let layout = &p.layout;
    let listener = TcpListener::bind(&p.listen).await.map_err(|e| format!("listen on {}: {e}", p.listen))?;
    eprintln!("mixmuc-bench: waiting for mixmuc's component connections on {}", p.listen);
    let secrets = vec![(p.mix_domain.clone(), p.mix_secret.clone()), (p.muc_domain.clone(), p.muc_secret.clone())];
    let waiters: Waiters = Arc::default();
    let t_accept = Instant::now();
    let mut links: HashMap<String, Link> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs_f64(p.accept_timeout);
    let mut n_conn = 0;
    while links.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let (tcp, _) = tokio::time::timeout(left, listener.accept())
            .await
            .map_err(|_| format!("mixmuc did not connect both domains within {}s", p.accept_timeout))?
            .map_err(|e| format!("accept: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        n_conn += 1;
        let mut c = Conn { tcp, fr: frame::Framer::new(), jid: String::new() };
        let domain = accept_component(&mut c, &secrets, &format!("bench{n_conn}")).await?;
        if links.contains_key(&domain) {
            let _ = c.send("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>").await;
            continue;
        }
        eprintln!("mixmuc-bench: component {domain} authenticated");
        links.insert(domain, spawn_link(c, shared.clone(), waiters.clone()));
    }
    let accept_s = t_accept.elapsed().as_secs_f64();
    drop(listener);
    let mix = &links[&p.mix_domain];
    let muc = &links[&p.muc_domain];

    let t_join = Instant::now();
    let full = |s: usize| format!("u{s}@{}/r", p.user_domain);
    let bare = |s: usize| format!("u{s}@{}", p.user_domain);
    let room_addr = |s: usize| {
        let name = layout.room_name(layout.room_of(s));
        if layout.is_mix(s) { format!("{name}@{}", p.mix_domain) } else { format!("{name}@{}", p.muc_domain) }
    };
    let join = |s: usize, creator: bool| {
        let waiters = waiters.clone();
        let (addr, nick, name) = (room_addr(s), layout.nick(s), layout.room_name(layout.room_of(s)));
        let (full, bare) = (full(s), bare(s));
        let mix_domain = p.mix_domain.clone();
        async move {
            if layout.is_mix(s) {
                if creator {
                    let create = format!("<iq type='set' id='c{s}' from='{}' to='{}'><create xmlns='urn:xmpp:mix:core:1' channel='{}'/></iq>", esc(&bare), esc(&mix_domain), esc(&name));
                    exchange(mix, &waiters, format!("iq:c{s}"), create).await?;
                }
                let j = format!(
                    "<iq type='set' id='j{s}' from='{}' to='{}'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{}</nick></join></iq>",
                    esc(&bare), esc(&addr), esc(&nick)
                );
                let r = exchange(mix, &waiters, format!("iq:j{s}"), j).await?;
                if !is_type(&r, "result") {
                    return Err(format!("{bare}: join {addr} refused: {}", String::from_utf8_lossy(&r)));
                }
            } else {
                let j = format!(
                    "<presence from='{}' to='{}/{}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>",
                    esc(&full), esc(&addr), esc(&nick)
                );
                let r = exchange(muc, &waiters, format!("join:{s}"), j).await?;
                if is_type(&r, "error") {
                    return Err(format!("{full}: join {addr} refused: {}", String::from_utf8_lossy(&r)));
                }
                // A room created by presence is locked until its owner accepts the instant room.
                if creator && has_status(&r, "201") {
                    let unlock = format!(
                        "<iq type='set' id='u{s}' from='{}' to='{}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
                        esc(&full), esc(&addr)
                    );
                    let r = exchange(muc, &waiters, format!("iq:u{s}"), unlock).await?;
                    if !is_type(&r, "result") {
                        return Err(format!("{full}: instant room {addr} refused: {}", String::from_utf8_lossy(&r)));
                    }
                }
            }
            Ok::<(), String>(())
        }
    };
    eprintln!("mixmuc-bench: creating {} rooms", layout.rooms);
    let creators: Vec<_> = (0..layout.rooms).map(|r| join(r * layout.occupants, true)).collect();
    for r in stream::iter(creators).buffer_unordered(p.concurrency.max(1)).collect::<Vec<_>>().await {
        r?;
    }
    let rest: Vec<_> = (0..layout.sessions()).filter(|s| layout.index_in_room(*s) != 0).map(|s| join(s, false)).collect();
    eprintln!("mixmuc-bench: joining {} more users", rest.len());
    for r in stream::iter(rest).buffer_unordered(p.concurrency.max(1)).collect::<Vec<_>>().await {
        r?;
    }
    let join_s = t_join.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let senders: Vec<(String, String, bool)> = (0..layout.sessions()).map(|s| (full(s), room_addr(s), layout.is_mix(s))).collect();
    let send = |sender: usize, token: &str| {
        let (from, to, is_mix) = &senders[sender];
        let msg = format!("<message type='groupchat' from='{from}' to='{to}' id='{}'><body>{token}</body></message>", token.replace(' ', "-"));
        let link = if *is_mix { mix } else { muc };
        let _ = link.tx.send(msg.into_bytes());
    };
    let reports = steps::run(&shared, &p.plans, &p.limits, &p.watched, &send).await;
    for link in links.values() {
        let _ = link.tx.send(b"</stream:stream>".to_vec());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let setup = Json::obj()
        .with("sessions", layout.sessions())
        .with("accept_s", accept_s)
        .with("join_s", join_s);
    Ok((setup, reports))
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_indexes() {
        assert_eq!(super::user_index(b"u12@bench.local/r"), Some(12));
        assert_eq!(super::user_index(b"room@muc"), None);
        assert_eq!(super::hex(&[0, 255, 16]), "00ff10");
    }
}
