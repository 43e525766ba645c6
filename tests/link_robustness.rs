//! The component link (`mixmuc::link::run`) against a fake XMPP server: a
//! tokio `TcpListener` on 127.0.0.1 speaking the server side of XEP-0114 as
//! raw text (stream header with an id, handshake checked against
//! SHA-1(id + secret) computed here, `<handshake/>` or a stream error).
//!
//! What a long-running component must survive: malformed stanzas, a server
//! that drops the connection, an idle link; what it must report: a wrong
//! secret; how it must stop: on the shutdown signal. Every wait is bounded.

mod common;

use futures::FutureExt;
use std::future::Future;
use std::time::Duration;

use common::{assert_xml, element, to_element};
use mixmuc::config::Secret;
use mixmuc::link::{self, LinkConfig, LinkError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

const DOMAIN: &str = "mix.example";
const SECRET: &str = "s3cr3t";
/// Longest any single step may take before the test fails.
const STEP: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

// ---------------------------------------------------------------- the fake server

struct FakeServer {
    listener: TcpListener,
    port: u16,
    /// The secret the server expects.
    secret: String,
}

impl FakeServer {
    async fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        FakeServer { listener, port, secret: SECRET.into() }
    }

    /// A server whose connections have a small receive buffer (no
    /// autotuning): when it stops reading, the link's writes stall after a
    /// few kilobytes plus the link's own socket buffer.
    async fn start_small_buffer() -> FakeServer {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let listener = socket.listen(16).expect("listen");
        let port = listener.local_addr().unwrap().port();
        FakeServer { listener, port, secret: SECRET.into() }
    }

    /// The configuration of a link to this server.
    fn link_config(&self, secret: &str, keepalive: Duration) -> LinkConfig {
        LinkConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            domain: DOMAIN.into(),
            secret: Secret::new(secret),
            keepalive,
            max_backoff: Duration::from_secs(2),
            multicast: None,
            max_stanza_bytes: 256 * 1024,
        }
    }

    async fn accept(&self) -> Conn {
        let (tcp, _) = within("the link connecting", self.listener.accept()).await.expect("accept");
        Conn { tcp, buf: Vec::new() }
    }

    /// Accepts a connection and runs the server side of XEP-0114 up to the
    /// handshake; returns the connection and whether the handshake was right
    /// (when wrong, a stream error has been sent and the stream closed).
    async fn accept_handshake(&self, stream_id: &str) -> (Conn, bool) {
        let mut c = self.accept().await;
        let header = c.read_stream_header().await;
        assert!(header.contains("jabber:component:accept"), "stream namespace: {header}");
        assert!(header.contains(&format!("to='{DOMAIN}'")) || header.contains(&format!("to=\"{DOMAIN}\"")), "stream to: {header}");
        c.send(&format!(
            "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
             xmlns='jabber:component:accept' from='{DOMAIN}' id='{stream_id}'>"
        ))
        .await;
        let hs = c.read_element().await;
        assert_eq!(hs.name(), "handshake", "expected the handshake, got {hs:?}");
        let expected = hex(&sha1(format!("{stream_id}{}", self.secret).as_bytes()));
        let ok = hs.text().trim().eq_ignore_ascii_case(&expected);
        if ok {
            c.send("<handshake/>").await;
        } else {
            c.send(
                "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
            )
            .await;
            let _ = c.tcp.shutdown().await;
        }
        (c, ok)
    }

    /// Accepts and authenticates; panics if the secret was wrong.
    async fn accept_ok(&self, stream_id: &str) -> Conn {
        let (c, ok) = self.accept_handshake(stream_id).await;
        assert!(ok, "the link sent a wrong handshake");
        c
    }
}

/// One accepted connection (or its read half), read as raw text.
struct Conn<S = TcpStream> {
    tcp: S,
    buf: Vec<u8>,
}

impl Conn {
    async fn send(&mut self, text: &str) {
        within("writing to the link", self.tcp.write_all(text.as_bytes())).await.expect("write");
    }

    /// Its read half (a reader with what was read so far) and write half.
    fn split(self) -> (Conn<tokio::net::tcp::OwnedReadHalf>, tokio::net::tcp::OwnedWriteHalf) {
        let (r, w) = self.tcp.into_split();
        (Conn { tcp: r, buf: self.buf }, w)
    }
}

impl<S: tokio::io::AsyncRead + Unpin> Conn<S> {
    /// Reads more bytes; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = self.tcp.read(&mut chunk).await.unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The component's stream header (the start tag), consumed.
    async fn read_stream_header(&mut self) -> String {
        within("the stream header", async {
            loop {
                if let Some((tag, end)) = scan_start_tag(&self.buf) {
                    self.buf.drain(..end);
                    return tag;
                }
                assert!(self.fill().await, "connection closed before the stream header");
            }
        })
        .await
    }

    /// The next top-level element the component sent, consumed.
    async fn read_element(&mut self) -> Element {
        within("an element from the link", self.next_element()).await.unwrap_or_else(|| panic!("connection closed; pending {:?}", self.text()))
    }

    async fn next_element(&mut self) -> Option<Element> {
        loop {
            match scan_element(&self.buf) {
                Scan::Element(start, end) => {
                    let text = String::from_utf8(self.buf[start..end].to_vec()).expect("UTF-8");
                    self.buf.drain(..end);
                    return Some(element(&text));
                }
                Scan::StreamEnd(end) => {
                    self.buf.drain(..end);
                    return None;
                }
                Scan::Incomplete => {
                    if !self.fill().await {
                        return None;
                    }
                }
            }
        }
    }

    /// Whether the component sends nothing (but whitespace) for `wait`.
    async fn quiet_for(&mut self, wait: Duration) -> Result<(), String> {
        let _ = tokio::time::timeout(wait, async {
            loop {
                if !self.fill().await {
                    break;
                }
            }
        })
        .await;
        let t = self.text();
        if t.trim().is_empty() {
            Ok(())
        } else {
            Err(t)
        }
    }

    /// Reads until the component closes its stream (`</stream:stream>`) or
    /// the connection; returns every element it sent before.
    async fn read_to_close(&mut self) -> Vec<Element> {
        let mut out = Vec::new();
        while let Some(e) = within("the link closing its stream", self.next_element()).await {
            out.push(e);
        }
        out
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

enum Scan {
    Element(usize, usize),
    StreamEnd(usize),
    Incomplete,
}

/// Tags of `buf` from `from`: (start, end, kind) with kind one of
/// `b'?'` (declaration), `b'/'` (end tag), `b'e'` (empty element), `b's'` (start tag).
fn next_tag(buf: &[u8], from: usize) -> Option<(usize, usize, u8)> {
    let start = from + buf[from..].iter().position(|&b| b == b'<')?;
    let mut quote = None;
    for (i, &b) in buf.iter().enumerate().skip(start + 1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'>') => {
                let kind = match (buf[start + 1], buf[i - 1]) {
                    (b'?', _) => b'?',
                    (b'/', _) => b'/',
                    (_, b'/') => b'e',
                    _ => b's',
                };
                return Some((start, i + 1, kind));
            }
            _ => {}
        }
    }
    None
}

/// The first start tag (after any XML declaration) and where it ends.
fn scan_start_tag(buf: &[u8]) -> Option<(String, usize)> {
    let mut at = 0;
    loop {
        let (s, e, kind) = next_tag(buf, at)?;
        if kind == b's' {
            return Some((String::from_utf8_lossy(&buf[s..e]).into_owned(), e));
        }
        at = e;
    }
}

/// Finds one complete top-level element in `buf`.
fn scan_element(buf: &[u8]) -> Scan {
    let mut depth = 0usize;
    let mut first = None;
    let mut at = 0;
    while let Some((s, e, kind)) = next_tag(buf, at) {
        at = e;
        match kind {
            b'?' => {}
            b'/' if depth == 0 => return Scan::StreamEnd(e),
            b'/' => {
                depth -= 1;
                if depth == 0 {
                    return Scan::Element(first.unwrap(), e);
                }
            }
            b'e' if depth == 0 => return Scan::Element(s, e),
            b'e' => {}
            _ => {
                if depth == 0 {
                    first = Some(s);
                }
                depth += 1;
            }
        }
    }
    Scan::Incomplete
}

// ---------------------------------------------------------------- SHA-1 (FIPS 180-4), for the handshake check

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sha1_known_answers() {
    assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        hex(&sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    // And it agrees with what the component computes.
    let theirs = xmpp_parsers::component::Handshake::from_stream_id_and_password("abc123".into(), SECRET);
    assert_eq!(theirs.data.unwrap(), sha1(format!("abc123{SECRET}").as_bytes()));
}

// ---------------------------------------------------------------- running a link

struct Link {
    inbound: mpsc::Receiver<Stanza>,
    /// The dispatcher's end of the link's queue.
    outbound: link::Outbox,
    shutdown: watch::Sender<bool>,
    /// What `run` publishes (`link::LinkState`).
    state: watch::Receiver<link::LinkState>,
    task: JoinHandle<Result<(), LinkError>>,
}

impl Link {
    fn start(cfg: LinkConfig) -> Link {
        Link::start_bounded(cfg, 1 << 20)
    }

    /// With a queue of `bound` bytes.
    fn start_bounded(cfg: LinkConfig, bound: usize) -> Link {
        init_tracing();
        let (in_tx, inbound) = mpsc::channel(16);
        let (outbound, inbox) = link::queue(&cfg.domain, bound);
        let (shutdown, sd_rx) = watch::channel(false);
        let (state_tx, state) = watch::channel(link::LinkState::Down);
        let task = tokio::spawn(link::run(cfg, "mix", in_tx, inbox, sd_rx, state_tx));
        Link { inbound, outbound, shutdown, state, task }
    }

    async fn recv(&mut self) -> Element {
        let s = within("a stanza on the inbound channel", self.inbound.recv()).await.expect("inbound channel closed");
        to_element(&s)
    }

    async fn stop(self) -> Result<(), LinkError> {
        let _ = self.shutdown.send(true);
        within("run() ending after shutdown", self.task).await.expect("link task panicked")
    }
}

fn ping_from_romeo(id: &str) -> String {
    format!("<iq type='get' id='{id}' from='romeo@example/orchard' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")
}

fn expect_ping_from_romeo(actual: &Element, id: &str) {
    assert_xml(
        actual,
        &format!("<iq type='get' id='{id}' from='romeo@example/orchard' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"),
    );
}

// ---------------------------------------------------------------- (a) malformed stanzas

/// Stanzas xmpp-parsers rejects do not end the link: those with an id and a
/// sender get a bad-request error, the others are dropped, and the next
/// valid stanza is delivered.
#[tokio::test]
async fn malformed_stanzas_do_not_end_the_link() {
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    let mut c = server.accept_ok("id-a").await;

    // An IQ get must have exactly one payload: none here.
    c.send(&format!("<iq type='get' id='x1' from='romeo@example' to='{DOMAIN}'/>")).await;
    assert_xml(
        &c.read_element().await,
        &format!(
            "<iq type='error' id='x1' from='{DOMAIN}' to='romeo@example'>
               <error type='modify' by='{DOMAIN}'>
                 <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
                 <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{{*}}</text>
               </error>
             </iq>"
        ),
    );

    // No id: cannot be answered, must not hurt.
    c.send(&format!("<iq type='get' from='romeo@example' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    // An unparsable sender: cannot be answered either.
    c.send(&format!("<iq type='get' id='x2' from='@@bad@@' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    // An error must never answer an error, however broken.
    c.send(&format!("<iq type='error' id='x3' from='romeo@example' to='{DOMAIN}'/>")).await;

    c.send(&ping_from_romeo("v1")).await;
    expect_ping_from_romeo(&link.recv().await, "v1");
    c.quiet_for(Duration::from_millis(300)).await.unwrap_or_else(|t| panic!("unexpected answer to an unanswerable stanza: {t}"));

    // A message and a presence of an unknown type, with id and sender.
    c.send(&format!("<message type='bogus' id='m1' from='romeo@example/orchard' to='{DOMAIN}'><body>hi</body></message>")).await;
    assert_xml(
        &c.read_element().await,
        &format!(
            "<message type='error' id='m1' from='{DOMAIN}' to='romeo@example/orchard'>
               <error type='modify' by='{DOMAIN}'>
                 <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
                 <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{{*}}</text>
               </error>
             </message>"
        ),
    );
    // (xmpp-parsers 0.23 always serialises <priority/>, hence the
    // <priority>0</priority> below: harmless, known upstream.)
    c.send(&format!("<presence type='bogus' id='p1' from='romeo@example/orchard' to='{DOMAIN}'/>")).await;
    assert_xml(
        &c.read_element().await,
        &format!(
            "<presence type='error' id='p1' from='{DOMAIN}' to='romeo@example/orchard'>
               <priority>0</priority>
               <error type='modify' by='{DOMAIN}'>
                 <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
                 <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{{*}}</text>
               </error>
             </presence>"
        ),
    );

    // Still up, both ways.
    c.send(&ping_from_romeo("v2")).await;
    expect_ping_from_romeo(&link.recv().await, "v2");
    link.outbound.send(common::stanza(&format!("<iq type='result' id='v2' from='{DOMAIN}' to='romeo@example/orchard'/>")).into()).await.unwrap();
    assert_xml(&c.read_element().await, &format!("<iq type='result' id='v2' from='{DOMAIN}' to='romeo@example/orchard'/>"));
    assert!(!link.task.is_finished());
    assert!(link.stop().await.is_ok());
}


/// A stanza with a name or attribute value the XML parser would refuse
/// (over 8 KB), or over `max_stanza_bytes`, costs its sender a
/// `policy-violation` and nothing else: the link is not dropped (no
/// reconnection), and every stanza around it is delivered, in order.
#[tokio::test]
async fn oversized_stanzas_cost_their_sender_an_error_not_the_link() {
    let server = FakeServer::start().await;
    let mut cfg = server.link_config(SECRET, Duration::from_secs(30));
    cfg.max_stanza_bytes = 64 * 1024;
    let mut link = Link::start(cfg);
    let mut c = server.accept_ok("id-big").await;
    let long = "n".repeat(9000);
    let huge_body = "b".repeat(70 * 1024);
    let hostile = [
        format!("<iq type='get' id='h1' from='romeo@example/orchard' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info' node='{long}'/></iq>"),
        format!("<message type='chat' id='h2' from='romeo@example/orchard' to='{DOMAIN}' xml:lang='{long}'><body>x</body></message>"),
        format!("<message type='chat' id='h3' from='romeo@example/orchard' to='{DOMAIN}'><body>{huge_body}</body></message>"),
        format!("<presence id='h4' from='romeo@example/orchard' to='{DOMAIN}'><{long}/></presence>"),
    ];
    for (i, bad) in hostile.iter().enumerate() {
        c.send(&ping_from_romeo(&format!("before{i}"))).await;
        c.send(bad).await;
        c.send(&ping_from_romeo(&format!("after{i}"))).await;
    }
    for i in 0..hostile.len() {
        expect_ping_from_romeo(&link.recv().await, &format!("before{i}"));
        expect_ping_from_romeo(&link.recv().await, &format!("after{i}"));
    }
    for (kind, id) in [("iq", "h1"), ("message", "h2"), ("message", "h3"), ("presence", "h4")] {
        let e = c.read_element().await;
        assert_eq!((e.name(), e.attr("id"), e.attr("type")), (kind, Some(id), Some("error")), "{}", common::canonical(&e));
        assert!(e.get_child("error", "jabber:component:accept").unwrap().has_child("policy-violation", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    }
    assert!(server.listener.accept().now_or_never().is_none(), "the link reconnected");
    assert!(!link.task.is_finished());
    assert!(link.stop().await.is_ok());
}

// ---------------------------------------------------------------- (b) reconnection

/// The server drops the connection: the link connects again, authenticates
/// and works; a stanza queued meanwhile is delivered.
#[tokio::test]
async fn link_reconnects_after_the_server_closes() {
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    let mut c = server.accept_ok("id-b1").await;
    c.send(&ping_from_romeo("before")).await;
    expect_ping_from_romeo(&link.recv().await, "before");
    drop(c);

    // The second connection: queue a stanza before the handshake is done.
    let mut c2 = server.accept().await;
    link.outbound.send(common::stanza(&format!("<iq type='result' id='queued' from='{DOMAIN}' to='romeo@example/orchard'/>")).into()).await.unwrap();
    let header = c2.read_stream_header().await;
    assert!(header.contains(DOMAIN), "{header}");
    c2.send(&format!(
        "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='{DOMAIN}' id='id-b2'>"
    ))
    .await;
    let hs = c2.read_element().await;
    assert_eq!(hs.text().trim(), hex(&sha1(format!("id-b2{SECRET}").as_bytes())), "handshake on the new stream id");
    c2.send("<handshake/>").await;
    assert_xml(&c2.read_element().await, &format!("<iq type='result' id='queued' from='{DOMAIN}' to='romeo@example/orchard'/>"));
    c2.send(&ping_from_romeo("after")).await;
    expect_ping_from_romeo(&link.recv().await, "after");

    // A stream end (rather than a dropped socket) is a reason to reconnect too.
    c2.send("</stream:stream>").await;
    let mut c3 = server.accept_ok("id-b3").await;
    c3.send(&ping_from_romeo("third")).await;
    expect_ping_from_romeo(&link.recv().await, "third");
    assert!(link.stop().await.is_ok());
}

/// A refused handshake after the link has been up once is a passing fault
/// (the server may be restarting with a new configuration): keep trying.
#[tokio::test]
async fn auth_failure_after_being_up_is_retried() {
    let mut server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    let c = server.accept_ok("id-r1").await;
    drop(c);
    server.secret = "rotated".into();
    let (_c, ok) = server.accept_handshake("id-r2").await;
    assert!(!ok);
    server.secret = SECRET.into();
    let mut c3 = server.accept_ok("id-r3").await;
    assert!(!link.task.is_finished(), "run() ended after a later auth failure");
    c3.send(&ping_from_romeo("back")).await;
    expect_ping_from_romeo(&link.recv().await, "back");
    assert!(link.stop().await.is_ok());
}

// ---------------------------------------------------------------- (c) wrong secret

/// A wrong secret on the first attempt is a configuration mistake: `run`
/// returns `LinkError::Auth` naming the domain.
#[tokio::test]
async fn wrong_secret_on_first_attempt_is_an_error_naming_the_domain() {
    let server = FakeServer::start().await;
    let link = Link::start(server.link_config("not-the-secret", Duration::from_secs(30)));
    let (_c, ok) = server.accept_handshake("id-c").await;
    assert!(!ok, "the fake server accepted a wrong secret");
    let result = within("run() returning after a refused secret", link.task).await.expect("link task panicked");
    match result {
        Err(e @ LinkError::Auth { .. }) => {
            let LinkError::Auth { domain, port, section, .. } = &e;
            assert_eq!(domain, DOMAIN);
            assert_eq!(*port, server.port);
            assert_eq!(*section, "mix");
            let shown = e.to_string();
            assert!(shown.contains(DOMAIN), "message does not name the domain: {shown}");
            assert!(!shown.contains("not-the-secret"), "message shows the secret: {shown}");
        }
        Ok(()) => panic!("run() returned Ok after a refused secret"),
    }
}

// ---------------------------------------------------------------- (d) keepalive

/// An idle link pings through the server; answered, it stays up and pings
/// again at the next idle period.
#[tokio::test]
async fn idle_link_sends_pings() {
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(1)));
    let mut c = server.accept_ok("id-d").await;
    let started = tokio::time::Instant::now();
    let ping = c.read_element().await;
    assert!(started.elapsed() >= Duration::from_millis(500), "pinged before the link was idle");
    let caps = assert_xml(&ping, &format!("<iq type='get' id='{{*id}}' from='{DOMAIN}' to='{{*to}}'><ping xmlns='urn:xmpp:ping'/></iq>"));
    assert!(!caps.named("to").is_empty());
    c.send(&format!("<iq type='result' id='{}' from='{}' to='{DOMAIN}'/>", caps.named("id"), caps.named("to"))).await;
    // The answer is handed on like any stanza (the service ignores results).
    let answer = link.recv().await;
    assert_eq!(answer.attr("id"), Some(caps.named("id")));

    let again = c.read_element().await;
    let caps2 = assert_xml(&again, &format!("<iq type='get' id='{{*id}}' from='{DOMAIN}' to='{{*}}'><ping xmlns='urn:xmpp:ping'/></iq>"));
    assert_ne!(caps2.named("id"), caps.named("id"), "ping ids are reused");
    assert!(!link.task.is_finished());
    assert!(link.stop().await.is_ok());
}

// ---------------------------------------------------------------- (e) shutdown

/// Shutdown while connected: queued stanzas are written, the stream is
/// closed politely, `run` returns Ok.
#[tokio::test]
async fn shutdown_while_connected_flushes_and_closes() {
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    let mut c = server.accept_ok("id-e1").await;
    // One round trip, so that the link is past its handshake.
    c.send(&ping_from_romeo("up")).await;
    expect_ping_from_romeo(&link.recv().await, "up");
    link.outbound.send(common::stanza(&format!("<message id='last' from='{DOMAIN}' to='romeo@example'><body>bye</body></message>")).into()).await.unwrap();
    let Link { shutdown, task, .. } = link;
    shutdown.send(true).unwrap();
    let sent = c.read_to_close().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_xml(&sent[0], &format!("<message id='last' from='{DOMAIN}' to='romeo@example'><body>bye</body></message>"));
    let r = within("run() ending after shutdown", task).await.expect("link task panicked");
    assert!(r.is_ok(), "{r:?}");
}

/// Shutdown while waiting to reconnect ends `run` with Ok too.
#[tokio::test]
async fn shutdown_while_disconnected_ends_run() {
    let server = FakeServer::start().await;
    let cfg = server.link_config(SECRET, Duration::from_secs(30));
    let link = Link::start(cfg);
    let c = server.accept_ok("id-e2").await;
    // Server gone for good: the link is between attempts.
    drop(c);
    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!link.task.is_finished());
    let r = link.stop().await;
    assert!(r.is_ok(), "{r:?}");
}

/// Shutdown before the server ever answered ends `run` with Ok.
#[tokio::test]
async fn shutdown_during_connect_ends_run() {
    let server = FakeServer::start().await;
    let link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    // Accept, read the header, never answer.
    let mut c = server.accept().await;
    c.read_stream_header().await;
    let r = link.stop().await;
    assert!(r.is_ok(), "{r:?}");
}

// ---------------------------------------------------------------- (e) the link's state

/// `LinkState`, what `mixmuc serve` waits for before telling systemd it is
/// ready: `Down` until the server accepts the handshake, `Up` then, `Down`
/// when the connection is lost, `Up` after the reconnection, `Stopped`
/// once `run` has returned.
#[tokio::test]
async fn link_state_follows_the_handshake() {
    use link::LinkState;
    async fn until(state: &mut watch::Receiver<LinkState>, want: LinkState) {
        within(&format!("the link state {want:?}"), state.wait_for(|s| *s == want)).await.expect("state sender alive");
    }
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    // Connected, header read, no answer yet: not up.
    let mut c = server.accept().await;
    c.read_stream_header().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*link.state.borrow(), LinkState::Down, "up before any handshake");
    drop(c);
    // The next attempt completes the handshake.
    let c = server.accept_ok("id-s1").await;
    until(&mut link.state, LinkState::Up).await;
    drop(c);
    until(&mut link.state, LinkState::Down).await;
    let _c = server.accept_ok("id-s2").await;
    until(&mut link.state, LinkState::Up).await;
    let mut state = link.state.clone();
    assert!(link.stop().await.is_ok());
    assert_eq!(*state.borrow_and_update(), LinkState::Stopped);
}

// ---------------------------------------------------------------- the scanner used above

#[test]
fn scanner_finds_elements() {
    let b = b"<?xml version='1.0'?><stream:stream xmlns='x' to='a>b'><iq id='1'><q a='>'/></iq><handshake/></stream:stream>";
    let (tag, end) = scan_start_tag(b).unwrap();
    assert!(tag.starts_with("<stream:stream") && tag.ends_with("'a>b'>"), "{tag}");
    let rest = &b[end..];
    match scan_element(rest) {
        Scan::Element(s, e) => assert_eq!(&rest[s..e], b"<iq id='1'><q a='>'/></iq>"),
        _ => panic!("no element"),
    }
    assert!(matches!(scan_element(b"<iq id='1'><q/>"), Scan::Incomplete));
    assert!(matches!(scan_element(b"</stream:stream>"), Scan::StreamEnd(_)));
}

// ---------------------------------------------------------------- (e) fan-outs and multicast

fn room_message() -> mixmuc::outgoing::FanOut {
    let s = common::stanza(&format!("<message type='groupchat' id='g1' from='room@{DOMAIN}/ni&apos;ck'><body>a &lt;b&gt; &amp; c</body><x xmlns='urn:example:x'>y</x></message>"));
    let Stanza::Message(template) = s else { unreachable!() };
    let to = ["a@example/r1", "b@example", "c@example/it&apos;s"].iter().map(|j| j.replace("&apos;", "'").parse().unwrap()).collect();
    mixmuc::outgoing::FanOut::message(template, to)
}

fn copy_for(to: &str) -> String {
    format!("<message type='groupchat' id='g1' from='room@{DOMAIN}/ni&apos;ck' to='{to}'><body>a &lt;b&gt; &amp; c</body><x xmlns='urn:example:x'>y</x></message>")
}

/// A fan-out reaches the server as one stanza per recipient, each the
/// template with its `to` (no multicast configured).
#[tokio::test]
async fn fan_out_is_one_stanza_per_recipient() {
    let server = FakeServer::start().await;
    let mut link = Link::start(server.link_config(SECRET, Duration::from_secs(30)));
    let mut c = server.accept_ok("id-f").await;
    link.outbound.send(mixmuc::outgoing::Out::FanOut(room_message())).await.unwrap();
    for to in ["a@example/r1", "b@example", "c@example/it&apos;s"] {
        assert_xml(&c.read_element().await, &copy_for(to));
    }
    c.quiet_for(Duration::from_millis(200)).await.expect("nothing more");
    assert!(link.stop().await.is_ok());
}

/// With `multicast` set, the link asks the service's disco#info at link-up;
/// when it announces XEP-0033, a fan-out is one stanza to the service with
/// a bcc address per recipient; when it does not, one stanza per recipient.
#[tokio::test]
async fn multicast_is_used_only_when_the_service_announces_it() {
    for announced in [true, false] {
        let server = FakeServer::start().await;
        let mut cfg = server.link_config(SECRET, Duration::from_secs(30));
        cfg.multicast = Some("example".parse().unwrap());
        let link = Link::start(cfg);
        let mut c = server.accept_ok("id-m").await;
        let probe = c.read_element().await;
        assert_xml(&probe, &format!("<iq type='get' id='{{*}}' from='{DOMAIN}' to='example'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
        let id = probe.attr("id").unwrap();
        let feature = if announced { "<feature var='http://jabber.org/protocol/address'/>" } else { "" };
        c.send(&format!("<iq type='result' id='{id}' from='example' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im'/>{feature}</query></iq>")).await;
        // The answer is the link's own: it does not reach the service.
        c.send(&ping_from_romeo("after-probe")).await;
        let mut link = link;
        expect_ping_from_romeo(&link.recv().await, "after-probe");
        link.outbound.send(mixmuc::outgoing::Out::FanOut(room_message())).await.unwrap();
        if announced {
            assert_xml(
                &c.read_element().await,
                &format!(
                    "<message type='groupchat' id='g1' from='room@{DOMAIN}/ni&apos;ck' to='example'>
                       <addresses xmlns='http://jabber.org/protocol/address'>
                         <address type='bcc' jid='a@example/r1'/><address type='bcc' jid='b@example'/><address type='bcc' jid='c@example/it&apos;s'/>
                       </addresses>
                       <body>a &lt;b&gt; &amp; c</body><x xmlns='urn:example:x'>y</x>
                     </message>"
                ),
            );
        } else {
            for to in ["a@example/r1", "b@example", "c@example/it&apos;s"] {
                assert_xml(&c.read_element().await, &copy_for(to));
            }
        }
        c.quiet_for(Duration::from_millis(200)).await.expect("nothing more");
        assert!(link.stop().await.is_ok());
    }
}

/// The multicast switch cannot be spoofed: an answer with the probe's id
/// from anyone but the service asked is an ordinary stanza (passed on to
/// the service, which ignores results it did not ask for), and the link
/// keeps sending one copy per recipient.
#[tokio::test]
async fn a_forged_probe_answer_does_not_switch_multicast_on() {
    let server = FakeServer::start().await;
    let mut cfg = server.link_config(SECRET, Duration::from_secs(30));
    cfg.multicast = Some("example".parse().unwrap());
    let mut link = Link::start(cfg);
    let mut c = server.accept_ok("id-f").await;
    let probe = c.read_element().await;
    let id = probe.attr("id").unwrap().to_string();
    assert_ne!(id, "mixmuc-multicast-probe-", "a random part per link-up");
    let announce = "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/address'/></query>";
    c.send(&format!("<iq type='result' id='{id}' from='mallory@evil.example/x' to='{DOMAIN}'>{announce}</iq>")).await;
    let forged = link.recv().await;
    assert_eq!((forged.attr("id"), forged.attr("from")), (Some(id.as_str()), Some("mallory@evil.example/x")));
    link.outbound.send(mixmuc::outgoing::Out::FanOut(room_message())).await.unwrap();
    for to in ["a@example/r1", "b@example", "c@example/it&apos;s"] {
        assert_xml(&c.read_element().await, &copy_for(to));
    }
    assert!(link.stop().await.is_ok());
}

// ---------------------------------------------------------------- (f) a server that stops reading

/// A message of about 2 KB from `room@DOMAIN/nick` with id `{id}`.
fn big_message(id: &str) -> xmpp_parsers::message::Message {
    let body = "x".repeat(2000);
    let Stanza::Message(m) = common::stanza(&format!("<message type='groupchat' id='{id}' from='room@{DOMAIN}/nick'><body>{body}</body></message>")) else { unreachable!() };
    m
}

/// Recipients `u0@example/r` … .
fn recipients(n: usize) -> Vec<xmpp_parsers::jid::Jid> {
    (0..n).map(|j| format!("u{j}@example/r").parse().unwrap()).collect()
}

/// Waits until the dispatcher (`sent` counts what it handed over) is
/// waiting for room in the queue and has stopped making progress.
async fn until_stalled(gauge: &link::QueueGauge, sent: &std::sync::atomic::AtomicUsize) {
    use std::sync::atomic::Ordering;
    within("the dispatcher waiting for room in the link's queue", async {
        let mut last = usize::MAX;
        let mut still = 0;
        while still < 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = sent.load(Ordering::SeqCst);
            still = if gauge.waiting() && now == last { still + 1 } else { 0 };
            last = now;
        }
    })
    .await;
}

/// Reads `count` elements and checks each is the message `id` to the
/// recipient `u{j}@example/r` that `expected` names, in that order.
async fn read_in_order<S: tokio::io::AsyncRead + Unpin>(c: &mut Conn<S>, expected: impl Iterator<Item = (String, usize)>) -> usize {
    let mut n = 0;
    for (id, j) in expected {
        let e = c.read_element().await;
        assert_eq!((e.name(), e.attr("id"), e.attr("to")), ("message", Some(id.as_str()), Some(format!("u{j}@example/r").as_str())), "element {n}");
        assert_eq!(e.get_child("body", "jabber:component:accept").map(|b| b.text().len()), Some(2000));
        n += 1;
    }
    n
}

/// The server stops reading while the dispatcher floods the link with
/// fan-outs (each one 100 KB, larger than the whole queue): the queued
/// bytes never exceed the bound, the dispatcher waits instead of queueing
/// more, and once the server reads again every copy arrives, in order.
#[tokio::test]
async fn a_server_that_stops_reading_makes_the_dispatcher_wait_within_the_bound() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const BOUND: usize = 64 * 1024;
    const ITEMS: usize = 200;
    const COPIES: usize = 50;
    let server = FakeServer::start_small_buffer().await;
    let link = Link::start_bounded(server.link_config(SECRET, Duration::from_secs(30)), BOUND);
    let mut c = server.accept_ok("id-stall").await;
    // One round trip: the link is past its handshake.
    c.send(&ping_from_romeo("up")).await;
    let Link { mut inbound, outbound: mut outbox, shutdown, task, .. } = link;
    expect_ping_from_romeo(&within("the ping", inbound.recv()).await.map(|s| to_element(&s)).unwrap(), "up");
    let gauge = outbox.gauge();
    assert_eq!(gauge.bound(), BOUND);

    // The dispatcher: 200 fan-outs of ~2 KB to 50 recipients, ~20 MB in
    // all, far more than the queue and the sockets' buffers hold.
    let sent = Arc::new(AtomicUsize::new(0));
    let flood = tokio::spawn({
        let sent = sent.clone();
        async move {
            for i in 0..ITEMS {
                outbox.send(mixmuc::outgoing::Out::FanOut(mixmuc::outgoing::FanOut::message(big_message(&format!("m{i}")), recipients(COPIES)))).await.expect("queue open");
                sent.store(i + 1, Ordering::SeqCst);
            }
            // Kept: without its dispatcher's end, the link closes.
            outbox
        }
    });
    until_stalled(&gauge, &sent).await;
    let handed = sent.load(Ordering::SeqCst);
    assert!(handed < ITEMS, "the dispatcher handed over everything ({handed}) to a server that does not read");
    assert!(gauge.queued() <= BOUND && gauge.peak() <= BOUND, "queued {} (peak {}) over the bound {BOUND}", gauge.queued(), gauge.peak());
    assert!(gauge.queued() >= BOUND / 2, "the dispatcher waits while the queue holds only {} bytes", gauge.queued());
    // Still waiting, still within the bound.
    until_stalled(&gauge, &sent).await;
    assert_eq!(sent.load(Ordering::SeqCst), handed, "the dispatcher went on while the server did not read");
    assert!(gauge.peak() <= BOUND);

    // The server reads again: every copy of every message, in order.
    let got = read_in_order(&mut c, (0..ITEMS).flat_map(|i| (0..COPIES).map(move |j| (format!("m{i}"), j)))).await;
    assert_eq!(got, ITEMS * COPIES);
    let _outbox = within("the dispatcher finishing", flood).await.expect("flood task");
    assert!(gauge.peak() <= BOUND, "peak {} over the bound {BOUND}", gauge.peak());
    assert_eq!(gauge.queued(), 0);
    assert!(!task.is_finished());
    let _ = shutdown.send(true);
    within("run() ending", task).await.expect("link task").expect("run ok");
}

/// Both queues full at once: the server sends a flood of requests and does
/// not read, each request's answer is larger than the whole outgoing queue.
/// The dispatcher waits for room, the inbound queue fills, the link holds
/// the next stanza and stops reading, but keeps writing: nothing is stuck
/// for good (the link waiting for the dispatcher and the dispatcher for the
/// link). Once the server reads again, every answer arrives in order.
#[tokio::test]
async fn full_queues_both_ways_do_not_deadlock() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const BOUND: usize = 64 * 1024;
    const REQUESTS: usize = 150;
    const COPIES: usize = 50;
    let server = FakeServer::start_small_buffer().await;
    let link = Link::start_bounded(server.link_config(SECRET, Duration::from_secs(30)), BOUND);
    let c = server.accept_ok("id-deadlock").await;
    let Link { mut inbound, outbound: mut outbox, shutdown, task, .. } = link;
    let gauge = outbox.gauge();
    let (mut reader, mut writer) = c.split();
    // The server's writes block once the link stops reading: a task of their own.
    let requests = tokio::spawn(async move {
        for i in 0..REQUESTS {
            writer.write_all(ping_from_romeo(&format!("p{i}")).as_bytes()).await.expect("write");
        }
        writer
    });
    // The dispatcher: each request answered by a fan-out of 100 KB.
    let handled = Arc::new(AtomicUsize::new(0));
    let dispatcher = tokio::spawn({
        let handled = handled.clone();
        async move {
            for i in 0..REQUESTS {
                let s = inbound.recv().await.expect("inbound open");
                assert_eq!(to_element(&s).attr("id"), Some(format!("p{i}").as_str()));
                outbox.send(mixmuc::outgoing::Out::FanOut(mixmuc::outgoing::FanOut::message(big_message(&format!("a{i}")), recipients(COPIES)))).await.expect("queue open");
                handled.store(i + 1, Ordering::SeqCst);
            }
            (inbound, outbox)
        }
    });
    until_stalled(&gauge, &handled).await;
    let done = handled.load(Ordering::SeqCst);
    assert!(done < REQUESTS, "everything was answered ({done}) to a server that does not read");
    assert!(gauge.peak() <= BOUND, "peak {} over the bound {BOUND}", gauge.peak());

    let got = read_in_order(&mut reader, (0..REQUESTS).flat_map(|i| (0..COPIES).map(move |j| (format!("a{i}"), j)))).await;
    assert_eq!(got, REQUESTS * COPIES);
    let _writer = within("the server's requests all read", requests).await.expect("writer task");
    let _ends = within("every request answered", dispatcher).await.expect("dispatcher task");
    assert!(gauge.peak() <= BOUND);
    let _ = shutdown.send(true);
    within("run() ending", task).await.expect("link task").expect("run ok");
}

/// A shutdown while the server does not read: the link gives up writing
/// after a short wait, `run` ends, and the dispatcher waiting for room
/// learns that the queue is closed instead of waiting for ever.
#[tokio::test]
async fn shutdown_with_a_server_that_does_not_read_ends_the_link() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const BOUND: usize = 64 * 1024;
    let server = FakeServer::start_small_buffer().await;
    let link = Link::start_bounded(server.link_config(SECRET, Duration::from_secs(30)), BOUND);
    let _c = server.accept_ok("id-stuck").await;
    let Link { inbound: _inbound, outbound: mut outbox, shutdown, task, .. } = link;
    let gauge = outbox.gauge();
    let sent = Arc::new(AtomicUsize::new(0));
    let flood = tokio::spawn({
        let sent = sent.clone();
        async move {
            for i in 0.. {
                let item = mixmuc::outgoing::Out::FanOut(mixmuc::outgoing::FanOut::message(big_message(&format!("m{i}")), recipients(50)));
                if outbox.send(item).await.is_err() {
                    return i;
                }
                sent.store(i + 1, Ordering::SeqCst);
            }
            unreachable!()
        }
    });
    until_stalled(&gauge, &sent).await;
    let _ = shutdown.send(true);
    within("run() ending after shutdown with a stalled server", task).await.expect("link task").expect("run ok");
    let stopped_at = within("the dispatcher told that the queue is closed", flood).await.expect("flood task");
    assert!(stopped_at >= sent.load(Ordering::SeqCst));
    assert_eq!(gauge.queued(), 0, "the queue's bytes were not given back");
}

/// A stanza larger than the whole queue is not refused: it waits until
/// the queue is empty and goes alone, between the stanzas around it.
#[tokio::test]
async fn a_stanza_larger_than_the_bound_goes_alone() {
    const BOUND: usize = 16 * 1024;
    let server = FakeServer::start().await;
    let mut link = Link::start_bounded(server.link_config(SECRET, Duration::from_secs(30)), BOUND);
    let mut c = server.accept_ok("id-huge").await;
    let huge = "h".repeat(3 * BOUND);
    for (id, body) in [("before", "b"), ("huge", huge.as_str()), ("after", "a")] {
        link.outbound.push(&common::stanza(&format!("<message id='{id}' from='{DOMAIN}' to='romeo@example'><body>{body}</body></message>")).into()).await.unwrap();
    }
    link.outbound.flush().await.unwrap();
    for (id, len) in [("before", 1), ("huge", huge.len()), ("after", 1)] {
        let e = c.read_element().await;
        assert_eq!(e.attr("id"), Some(id));
        assert_eq!(e.get_child("body", "jabber:component:accept").unwrap().text().len(), len);
    }
    let gauge = link.outbound.gauge();
    let alone = gauge.peak();
    assert!(alone > BOUND && alone < huge.len() + 200, "the large stanza went with others: peak {alone}");
    assert!(link.stop().await.is_ok());
}
