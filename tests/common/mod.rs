//! Golden-transcript harness shared by the in-process protocol tests.
//!
//! A [`Harness`] is a `mixmuc::service::Service` over a fresh SQLite store in
//! a temporary folder, configured with the domains of the XEP examples
//! (`mix.shakespeare.example`, `chat.shakespeare.example`). A test feeds it a
//! stanza written as XML *without* the stream namespace (the harness puts
//! `xmlns='jabber:component:accept'` on the root element, as the server's
//! component stream would) and compares what comes out, stanza by stanza,
//! with expected XML written the same way:
//!
//! ```ignore
//! let h = Harness::new().await;
//! h.exchange(
//!     "<iq type='get' id='p1' from='hag66@shakespeare.example/UUID-a1j/7533' to='mix.shakespeare.example'>
//!        <ping xmlns='urn:xmpp:ping'/></iq>",
//!     &["<iq type='result' id='p1' from='mix.shakespeare.example' to='hag66@shakespeare.example/UUID-a1j/7533'/>"],
//! ).await;
//! ```
//!
//! The comparison is structural: names, namespaces, attributes (in any order),
//! children (in order) and text. Whitespace-only text is ignored, so expected
//! XML may be indented. An expected attribute value or text of `{*}` matches
//! anything; `{*name}` does too and records the value under `name`. The
//! matched values are returned ([`Captures`]) so a test can reuse generated
//! ids and names. On a mismatch the assertion panics with the list of
//! differences and a line diff of both stanzas in a canonical layout.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use mixmuc::config::{Config, StoreConfig};
use mixmuc::service::Service;
use mixmuc::store::Store;
use xmpp_parsers::minidom::{Element, Node};
use xmpp_parsers::stanza::Stanza;

/// The MIX domain of the XEP-0369 / XEP-0408 examples.
pub const MIX: &str = "mix.shakespeare.example";
/// The MUC domain of the XEP-0408 examples.
pub const MUC: &str = "chat.shakespeare.example";
/// The stream namespace of an external component (XEP-0114).
pub const COMPONENT_NS: &str = "jabber:component:accept";

/// Example users (XEP-0369).
pub const HAG66: &str = "hag66@shakespeare.example/UUID-a1j/7533";
pub const HAG66_BARE: &str = "hag66@shakespeare.example";
pub const HAG01: &str = "hag01@shakespeare.example/UUID-b3c/8741";
pub const HAG01_BARE: &str = "hag01@shakespeare.example";
/// A user of another server.
pub const ROMEO: &str = "romeo@montague.example/orchard";
pub const ROMEO_BARE: &str = "romeo@montague.example";

/// The channel of the examples in both views (the MIX domain's coven and
/// its MUC mirror), and a MIX participant of it.
pub const COVEN: &str = "coven@mix.shakespeare.example";
pub const ROOM: &str = "coven@chat.shakespeare.example";
pub const HECATE: &str = "hecate@shakespeare.example/UUID-e3r/9264";
pub const HECATE_BARE: &str = "hecate@shakespeare.example";
/// hag66's second session.
pub const HAG66_2: &str = "hag66@shakespeare.example/broom";

/// A session enters `ROOM` as `nick` (setup step; what it is sent is not
/// checked, only that it is no error).
pub async fn enter_room(h: &Harness, from: &str, nick: &str) {
    let out = h.send(&format!("<presence from='{from}' to='{ROOM}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>")).await;
    assert!(out.iter().all(|e| e.attr("type") != Some("error")), "entering as {nick} failed: {}", canonical(&out[0]));
}

/// hag66 creates coven through MIX (its owner) and enters the room as
/// "thirdwitch"; hag01 enters as "firstwitch" (setup step).
pub async fn coven_room(h: &Harness) {
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"), "creating coven failed: {}", canonical(&out[0]));
    enter_room(h, HAG66, "thirdwitch").await;
    enter_room(h, HAG01, "firstwitch").await;
}

/// hecate joins coven through MIX as "hecate", subscribed to `node`
/// (setup step).
pub async fn hecate_joins(h: &Harness, node: &str) {
    let out = h
        .send(&format!("<iq type='set' id='j-hecate' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='{node}'/><nick>hecate</nick></join></iq>"))
        .await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "hecate's join failed");
}

/// Coven with sessions in both views, for the tests of sessions that
/// vanish (golden_vanished.rs, golden_idle.rs): hag66 and hag01 in the
/// room as "thirdwitch" and "firstwitch"; hecate and romeo MIX
/// participants subscribed to the presence node; hecate's client online.
pub async fn coven_with_sessions(h: &Harness) {
    const MIX_NS: &str = "urn:xmpp:mix:core:1";
    h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    enter_room(h, HAG66, "thirdwitch").await;
    enter_room(h, HAG01, "firstwitch").await;
    for (jid, nick) in [(HECATE_BARE, "hecate"), (ROMEO_BARE, "romeo")] {
        let join = format!(
            "<iq type='set' id='j-{nick}' from='{jid}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:presence'/><nick>{nick}</nick></join></iq>"
        );
        assert!(h.send(&join).await.iter().any(|e| e.attr("type") == Some("result")), "{nick}'s join failed");
    }
    h.send(&format!("<presence from='{HECATE}' to='{COVEN}'/>")).await;
}

/// The full JIDs of coven's MUC sessions.
pub async fn coven_occupants(h: &Harness) -> Vec<String> {
    h.service.channels.occupants("coven").await.unwrap().iter().map(|o| o.full_jid.to_string()).collect()
}

/// The full JIDs of coven's online MIX clients.
pub async fn coven_online_clients(h: &Harness) -> Vec<String> {
    h.service.channels.mix_clients("coven").await.unwrap().iter().map(|c| c.full_jid.clone()).collect()
}

/// The participant id of `jid` in coven.
pub async fn coven_pid(h: &Harness, jid: &str) -> String {
    h.service.channels.participant_id("coven", jid).await.unwrap()
}

/// The session token of `full` in coven.
pub async fn coven_token(h: &Harness, full: &str) -> String {
    h.service.channels.session_token("coven", full).await.unwrap()
}

/// The configuration every harness starts from; `extra` TOML is appended.
///
/// New channels are JID-visible here unless `extra` names
/// `jid_visibility`: the golden transcripts follow XEP-0045's and the
/// seeds' examples, which show real JIDs (the service's default is
/// `hidden`; the tests of that default set it). Rate limits are off unless
/// `extra` has a `[limits]` section: the transcripts send faster than a
/// person (the tests of the limits set them).
pub fn config_toml(extra: &str) -> String {
    let visible = "jid_visibility = \"visible\"\n";
    let extra = if extra.contains("jid_visibility") {
        extra.to_string()
    } else if extra.contains("[service]\n") {
        extra.replacen("[service]\n", &format!("[service]\n{visible}"), 1)
    } else {
        format!("{extra}\n[service]\n{visible}")
    };
    let extra = if extra.contains("[limits]") { extra } else { format!("{extra}\n[limits]\nmessage_rate = 0\npresence_rate = 0\n") };
    format!(
        r#"
[server]
port = 5347

[mix]
domain = "{MIX}"
secret = "mix-secret"

[muc]
domain = "{MUC}"
secret = "chat-secret"

{extra}
"#
    )
}

/// A service over a fresh SQLite store, plus what keeps it alive.
pub struct Harness {
    pub service: Arc<Service>,
    pub store: Store,
    pub config: Config,
    /// The SQLite file.
    pub db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The default configuration (anyone may create channels).
    pub async fn new() -> Harness {
        Self::with_toml("").await
    }

    /// The default configuration plus `extra` TOML, e.g.
    /// `"[service]\ncreate_channels = [\"boss@shakespeare.example\"]"`.
    pub async fn with_toml(extra: &str) -> Harness {
        let config = Config::from_toml(&config_toml(extra)).unwrap_or_else(|e| panic!("harness configuration: {e}"));
        let dir = tempfile::tempdir().expect("temporary folder");
        let db_path = dir.path().join("mixmuc.db");
        let store_cfg = StoreConfig { url: format!("sqlite://{}", db_path.display()), ..StoreConfig::default() };
        let store = Store::open(&store_cfg).await.unwrap_or_else(|e| panic!("opening the test store: {e}"));
        let service = Service::new(&config, store.clone());
        Harness { service, store, config, db_path, _dir: dir }
    }

    /// Feeds one stanza (XML without the stream namespace) to the service;
    /// returns every stanza it answers with, as elements.
    pub async fn send(&self, xml: &str) -> Vec<Element> {
        let out = self.service.handle(stanza(xml)).await;
        out.iter().map(to_element).collect()
    }

    /// Runs one round of the idle-session check at `now` (ms since the
    /// epoch); returns what it sends.
    pub async fn sweep(&self, now: i64) -> Vec<Element> {
        mixmuc::outgoing::expand(self.service.idle_sweep(now).await).iter().map(to_element).collect()
    }

    /// Feeds one stanza and asserts the exact list of answers (in order).
    /// Returns the captures of each expected stanza.
    pub async fn exchange(&self, input: &str, expected: &[&str]) -> Vec<Captures> {
        let actual = self.send(input).await;
        assert_stanzas(&actual, expected)
    }

    /// Feeds one stanza, expects exactly one answer matching `expected`.
    pub async fn exchange1(&self, input: &str, expected: &str) -> Captures {
        self.exchange(input, &[expected]).await.pop().expect("one answer")
    }
}

/// Parses XML written without the stream namespace into an element whose
/// root is in `jabber:component:accept` (children without their own
/// `xmlns` inherit it, as on the wire).
pub fn element(xml: &str) -> Element {
    let with_ns = add_root_ns(xml.trim());
    with_ns.parse::<Element>().unwrap_or_else(|e| panic!("test XML does not parse: {e}\n{with_ns}"))
}

/// Parses a stanza written without the stream namespace.
pub fn stanza(xml: &str) -> Stanza {
    let el = element(xml);
    xso::transform::<Stanza, Element>(&el).unwrap_or_else(|e| panic!("test stanza is not a valid stanza: {e}\n{xml}"))
}

/// A stanza as an element.
pub fn to_element(s: &Stanza) -> Element {
    xso::transform::<Element, Stanza>(s).unwrap_or_else(|e| panic!("stanza does not serialise: {e}: {s:?}"))
}

/// Puts `xmlns='jabber:component:accept'` on the root element unless it
/// already has an `xmlns`.
fn add_root_ns(xml: &str) -> String {
    let start = xml.find('<').expect("XML starts with an element");
    let tag_end = xml[start..].find('>').map(|i| start + i).expect("unterminated start tag");
    let tag = &xml[start..tag_end];
    if tag.contains(" xmlns=") || tag.contains("\nxmlns=") || tag.contains("\txmlns=") {
        return xml.to_string();
    }
    let name_end = xml[start + 1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map(|i| start + 1 + i)
        .expect("element name");
    format!("{} xmlns='{COMPONENT_NS}'{}", &xml[..name_end], &xml[name_end..])
}

/// Values matched by `{*}` / `{*name}` in an expected stanza, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    pub values: Vec<(Option<String>, String)>,
}

impl Captures {
    /// The `i`-th matched value (document order, attributes of one element
    /// in alphabetical order).
    pub fn get(&self, i: usize) -> &str {
        match self.values.get(i) {
            Some((_, v)) => v,
            None => panic!("no capture #{i}; captured {:?}", self.values),
        }
    }

    /// The value matched by `{*name}`.
    pub fn named(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no capture named {name:?}; captured {:?}", self.values))
    }
}

/// Asserts that `actual` matches `expected` (see the module doc); returns the
/// captured values.
pub fn assert_xml(actual: &Element, expected: &str) -> Captures {
    let exp = element(expected);
    let mut caps = Captures::default();
    let mut diffs = Vec::new();
    compare(&exp, actual, &format!("/{}", exp.name()), &mut caps, &mut diffs);
    if !diffs.is_empty() {
        panic!("{}", report(&diffs, &exp, actual));
    }
    caps
}

/// Asserts the whole list of output stanzas, in order.
pub fn assert_stanzas(actual: &[Element], expected: &[&str]) -> Vec<Captures> {
    if actual.len() != expected.len() {
        let mut msg = format!("expected {} stanza(s), got {}\n", expected.len(), actual.len());
        for (i, e) in expected.iter().enumerate() {
            let _ = write!(msg, "--- expected #{i}\n{}", canonical(&element(e)));
        }
        for (i, a) in actual.iter().enumerate() {
            let _ = write!(msg, "+++ actual #{i}\n{}", canonical(a));
        }
        panic!("{msg}");
    }
    actual.iter().zip(expected).map(|(a, e)| assert_xml(a, e)).collect()
}

/// Whether `actual` matches `expected`, without panicking.
pub fn matches_xml(actual: &Element, expected: &str) -> bool {
    let exp = element(expected);
    let mut caps = Captures::default();
    let mut diffs = Vec::new();
    compare(&exp, actual, "", &mut caps, &mut diffs);
    diffs.is_empty()
}

fn wildcard(v: &str) -> Option<Option<String>> {
    let inner = v.strip_prefix("{*")?.strip_suffix('}')?;
    Some((!inner.is_empty()).then(|| inner.to_string()))
}

fn attr_key(ns: &str, name: &str) -> String {
    match ns {
        "" => name.to_string(),
        "http://www.w3.org/XML/1998/namespace" => format!("xml:{name}"),
        other => format!("{{{other}}}{name}"),
    }
}

fn attrs_of(e: &Element) -> BTreeMap<String, String> {
    e.attrs().iter().map(|((ns, name), v)| (attr_key(ns.as_str(), name.as_str()), v.clone())).collect()
}

/// The text of an element with whitespace-only text dropped.
fn text_of(e: &Element) -> String {
    let t: String = e
        .nodes()
        .filter_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        })
        .collect();
    if t.trim().is_empty() {
        String::new()
    } else {
        t
    }
}

fn compare(exp: &Element, act: &Element, path: &str, caps: &mut Captures, diffs: &mut Vec<String>) {
    if exp.name() != act.name() || exp.ns() != act.ns() {
        diffs.push(format!(
            "{path}: expected <{} xmlns='{}'>, found <{} xmlns='{}'>",
            exp.name(),
            exp.ns(),
            act.name(),
            act.ns()
        ));
        return;
    }
    let ea = attrs_of(exp);
    let aa = attrs_of(act);
    for (k, v) in &ea {
        match (aa.get(k), wildcard(v)) {
            (None, _) => diffs.push(format!("{path}: missing attribute {k}='{v}'")),
            (Some(a), Some(name)) => caps.values.push((name, a.clone())),
            (Some(a), None) if a != v => diffs.push(format!("{path}: attribute {k}: expected '{v}', found '{a}'")),
            _ => {}
        }
    }
    for (k, a) in &aa {
        if !ea.contains_key(k) {
            diffs.push(format!("{path}: unexpected attribute {k}='{a}'"));
        }
    }
    let (et, at) = (text_of(exp), text_of(act));
    match wildcard(&et) {
        Some(name) => caps.values.push((name, at)),
        None if et != at => diffs.push(format!("{path}: text: expected {et:?}, found {at:?}")),
        None => {}
    }
    let ec: Vec<&Element> = exp.children().collect();
    let ac: Vec<&Element> = act.children().collect();
    for i in 0..ec.len().max(ac.len()) {
        match (ec.get(i), ac.get(i)) {
            (Some(e), Some(a)) => compare(e, a, &format!("{path}/{}[{i}]", e.name()), caps, diffs),
            (Some(e), None) => diffs.push(format!("{path}: missing child #{i} <{} xmlns='{}'>", e.name(), e.ns())),
            (None, Some(a)) => diffs.push(format!("{path}: unexpected child #{i} <{} xmlns='{}'>", a.name(), a.ns())),
            (None, None) => unreachable!(),
        }
    }
}

/// One element per line, attributes sorted, `xmlns` only where it changes.
pub fn canonical(e: &Element) -> String {
    let mut out = String::new();
    write_canonical(e, "", 0, &mut out);
    out
}

fn write_canonical(e: &Element, parent_ns: &str, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let _ = write!(out, "{pad}<{}", e.name());
    let ns = e.ns();
    if ns != parent_ns {
        let _ = write!(out, " xmlns='{ns}'");
    }
    for (k, v) in attrs_of(e) {
        let _ = write!(out, " {k}='{v}'");
    }
    let text = text_of(e);
    let children: Vec<&Element> = e.children().collect();
    match (text.is_empty(), children.is_empty()) {
        (true, true) => out.push_str("/>\n"),
        (false, true) => {
            let _ = writeln!(out, ">{text}</{}>", e.name());
        }
        _ => {
            out.push_str(">\n");
            if !text.is_empty() {
                let _ = writeln!(out, "{pad}  {text:?}");
            }
            for c in children {
                write_canonical(c, &ns, depth + 1, out);
            }
            let _ = writeln!(out, "{pad}</{}>", e.name());
        }
    }
}

fn report(diffs: &[String], exp: &Element, act: &Element) -> String {
    let mut msg = String::from("stanza does not match:\n");
    for d in diffs {
        let _ = writeln!(msg, "  * {d}");
    }
    msg.push_str("diff (- expected, + actual):\n");
    msg.push_str(&line_diff(&canonical(exp), &canonical(act)));
    msg
}

/// A minimal LCS line diff.
fn line_diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    out
}
