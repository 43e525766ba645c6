//! The link's write side: stanzas to bytes, fan-outs serialised once.
//!
//! One rxml encoder per connection, set up like tokio-xmpp's stream writer
//! (default namespace `jabber:component:accept`, `stream` prefix), so a
//! stanza's bytes are what tokio-xmpp would write. A fan-out's message is
//! encoded once without `to`; each recipient's copy is then
//! `<message to='…'` followed by the shared bytes. With a multicast service
//! (XEP-0033) the whole fan-out is one stanza to that service, with one
//! `bcc` address per recipient.
//!
//! Kept because of what it buys against one `Message` per recipient
//! serialised through tokio-xmpp's stream: 2.4× the stanzas out per
//! CPU-second in a room of 200, +15 % in rooms of 5 (docs/benchmarks.md,
//! "What the hand-written parts buy").

use std::sync::{Arc, Mutex};

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::Message;
use xmpp_parsers::presence::Presence;
use xmpp_parsers::minidom::rxml::writer::{Encoder, SimpleNamespaces, TrackNamespace};
use xmpp_parsers::minidom::rxml::{Item as RxmlItem, Namespace};
use xmpp_parsers::stanza::Stanza;
use xso::AsXml;

use super::fast::MessageXml;
use crate::outgoing::{FanOut, Out, Template};

const STREAM_NS: &str = "http://etherx.jabber.org/streams";
pub const ADDRESS_NS: &str = "http://jabber.org/protocol/address";
/// contrib/prosody/mod_component_multicast.lua's compact form: the
/// recipients as one text, JIDs separated by line feeds.
pub const RECIPIENTS_NS: &str = "urn:mixmuc:recipients:0";
/// Most addresses in one multicast stanza (~60 KiB of addresses).
pub const MAX_ADDRESSES: usize = 1000;

/// Serialises outgoing items into one buffer: the dispatcher's end of a
/// link's queue (`queue::Outbox`, which hands the buffer over in chunks),
/// and the session for the link's own stanzas.
pub struct Writer {
    enc: Encoder<SimpleNamespaces>,
    pub buf: Vec<u8>,
    /// Scratch for a fan-out's shared bytes.
    shared: Vec<u8>,
    /// The multicast service's JID, escaped for an attribute, when in use,
    /// and whether it takes the compact recipient list.
    multicast: Multicast,
}

/// The multicast service's JID, escaped for an attribute, and whether it
/// takes the compact recipient list; `None`: one stanza per recipient.
type Multicast = Option<(Arc<str>, bool)>;

/// Whether a link's fan-outs go to the server's multicast service: learnt
/// by the link (its probe at each link-up), read by the writer of its
/// queue (`queue::Outbox`) before each fan-out.
#[derive(Clone, Default)]
pub struct MulticastSwitch(Arc<Mutex<Multicast>>);

impl MulticastSwitch {
    /// As `Writer::set_multicast`.
    pub fn set(&self, service: Option<&Jid>, compact: bool) {
        *self.0.lock().expect("multicast switch") = service.map(|j| (Arc::from(escape(j.as_str())), compact));
    }

    fn get(&self) -> Multicast {
        self.0.lock().expect("multicast switch").clone()
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Self {
        Writer { enc: encoder(), buf: Vec::with_capacity(64 * 1024), shared: Vec::new(), multicast: None }
    }

    /// A fresh encoder, after an item failed half-way through.
    pub fn reset_encoder(&mut self) {
        self.enc = encoder();
    }

    /// Send fan-outs of two or more recipients to this XEP-0033 service
    /// (or, with `None`, one stanza per recipient); `compact`: in the
    /// service's `urn:mixmuc:recipients:0` form instead of `<addresses/>`.
    pub fn set_multicast(&mut self, service: Option<&Jid>, compact: bool) {
        self.multicast = service.map(|j| (Arc::from(escape(j.as_str())), compact));
    }

    /// Takes the switch's current setting.
    pub fn follow(&mut self, switch: &MulticastSwitch) {
        self.multicast = switch.get();
    }

    /// Appends one item's bytes; returns the number of stanzas it stands for.
    pub fn push(&mut self, item: &Out) -> std::io::Result<usize> {
        match item {
            Out::Stanza(s) => self.stanza(s).map(|_| 1),
            Out::FanOut(f) => self.fan_out(f).map(|_| f.to.len()),
        }
    }

    pub fn stanza(&mut self, s: &Stanza) -> std::io::Result<()> {
        match s {
            Stanza::Message(m) => encode(&mut self.enc, &MessageXml(m), &mut self.buf).map(|_| ()),
            Stanza::Presence(p) => encode(&mut self.enc, p, &mut self.buf).map(|_| ()),
            Stanza::Iq(i) => encode(&mut self.enc, i, &mut self.buf).map(|_| ()),
        }
    }

    fn fan_out(&mut self, f: &FanOut) -> std::io::Result<()> {
        match self.begin_fan_out(f)? {
            Some(sp) => {
                for piece in sp.pieces(f) {
                    self.fan_out_piece(&sp, piece);
                }
            }
            None => {
                for s in f.stanzas() {
                    self.stanza(&s)?;
                }
            }
        }
        Ok(())
    }

    /// Encodes what a fan-out's copies share (its stanza without `to`);
    /// `None` when the copies cannot be spliced from it (an empty element):
    /// then each copy is a stanza of its own (`FanOut::stanzas`). The
    /// copies are then appended piece by piece (`fan_out_piece`), so that
    /// a caller can hand over what is serialised between pieces.
    pub fn begin_fan_out(&mut self, f: &FanOut) -> std::io::Result<Option<Splice>> {
        self.shared.clear();
        let (head, head_end): (&'static [u8], usize) = match &f.template {
            Template::Message(m) if m.to.is_none() => (b"<message", encode(&mut self.enc, &MessageXml(m), &mut self.shared)?),
            Template::Message(m) => (b"<message", encode(&mut self.enc, &MessageXml(&Message { to: None, ..m.clone() }), &mut self.shared)?),
            Template::Presence(p) if p.to.is_none() => (b"<presence", encode(&mut self.enc, p, &mut self.shared)?),
            Template::Presence(p) => (b"<presence", encode(&mut self.enc, &Presence { to: None, ..p.clone() }, &mut self.shared)?),
        };
        let shared = &self.shared;
        // `<message` / `<presence` then attributes (or `>`): anything else
        // (an empty element) is encoded copy by copy.
        let spliceable = shared.starts_with(head) && matches!(shared.get(head.len()), Some(b' ') | Some(b'>')) && !shared[..head_end].ends_with(b"/>");
        if !spliceable {
            return Ok(None);
        }
        Ok(Some(Splice { head, head_end, multicast: self.multicast.is_some() && f.to.len() > 1 }))
    }

    /// Appends the copies of a fan-out to `to` (a piece from
    /// `Splice::pieces`): one stanza each, or one multicast stanza.
    pub fn fan_out_piece(&mut self, sp: &Splice, to: &[Jid]) {
        let shared = &self.shared;
        let head = sp.head;
        let head_end = sp.head_end;
        match &self.multicast {
            Some((service, compact)) if sp.multicast => {
                self.buf.extend_from_slice(head);
                self.buf.extend_from_slice(b" to='");
                self.buf.extend_from_slice(service.as_bytes());
                self.buf.push(b'\'');
                self.buf.extend_from_slice(&shared[head.len()..head_end]);
                if *compact {
                    self.buf.extend_from_slice(b"<recipients xmlns='");
                    self.buf.extend_from_slice(RECIPIENTS_NS.as_bytes());
                    self.buf.extend_from_slice(b"'>");
                    for (i, to) in to.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(b'\n');
                        }
                        push_escaped(&mut self.buf, to.as_str());
                    }
                    self.buf.extend_from_slice(b"</recipients>");
                } else {
                    self.buf.extend_from_slice(b"<addresses xmlns='");
                    self.buf.extend_from_slice(ADDRESS_NS.as_bytes());
                    self.buf.extend_from_slice(b"'>");
                    for to in to {
                        self.buf.extend_from_slice(b"<address type='bcc' jid='");
                        push_escaped(&mut self.buf, to.as_str());
                        self.buf.extend_from_slice(b"'/>");
                    }
                    self.buf.extend_from_slice(b"</addresses>");
                }
                self.buf.extend_from_slice(&shared[head_end..]);
            }
            _ => {
                let rest = &shared[head.len()..];
                self.buf.reserve(to.len() * (rest.len() + 64));
                for to in to {
                    self.buf.extend_from_slice(head);
                    self.buf.extend_from_slice(b" to='");
                    push_escaped(&mut self.buf, to.as_str());
                    self.buf.push(b'\'');
                    self.buf.extend_from_slice(rest);
                }
            }
        }
    }
}

/// A fan-out whose shared bytes `Writer::begin_fan_out` has encoded.
pub struct Splice {
    head: &'static [u8],
    head_end: usize,
    /// One stanza per piece to the multicast service, rather than a copy
    /// per recipient.
    multicast: bool,
}

impl Splice {
    /// The recipients in pieces: for multicast, one stanza's worth each
    /// (servers cap a stanza's size: Prosody 512 KiB from a component);
    /// otherwise one recipient each.
    pub fn pieces<'a>(&self, f: &'a FanOut) -> std::slice::Chunks<'a, Jid> {
        f.to.chunks(if self.multicast { MAX_ADDRESSES } else { 1 })
    }
}

/// An encoder inside the stream element, as tokio-xmpp's.
fn encoder() -> Encoder<SimpleNamespaces> {
    let mut enc = Encoder::new();
    enc.ns_tracker_mut().declare_fixed(Some("stream".try_into().expect("valid prefix")), STREAM_NS.into());
    enc.ns_tracker_mut().declare_fixed(None, xmpp_parsers::ns::COMPONENT.into());
    // Open the (already sent) stream element, so stanzas are encoded
    // as its children; these bytes are thrown away.
    let mut header = Vec::new();
    enc.encode(RxmlItem::ElementHeadStart(Namespace::from(STREAM_NS), "stream".try_into().expect("valid name")), &mut header).expect("stream head");
    enc.encode(RxmlItem::ElementHeadEnd, &mut header).expect("stream head end");
    enc
}

/// Encodes `x` into `out`; returns the offset in `out`, relative to where
/// it started, just after the top element's start tag.
fn encode<T: AsXml>(enc: &mut Encoder<SimpleNamespaces>, x: &T, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let start = out.len();
    let mut head_end = None;
    for item in x.as_xml_iter().map_err(|e| invalid(e.to_string()))? {
        let item = item.map_err(|e| invalid(e.to_string()))?;
        let is_head_end = head_end.is_none() && matches!(item, xso::Item::ElementHeadEnd);
        enc.encode(item.as_rxml_item(), out).map_err(|e| invalid(e.to_string()))?;
        if is_head_end {
            head_end = Some(out.len() - start);
        }
    }
    Ok(head_end.unwrap_or(out.len() - start))
}

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'&' | b'<' | b'>' | b'\'' | b'"')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\'' => out.extend_from_slice(b"&apos;"),
            '"' => out.extend_from_slice(b"&quot;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn escape(s: &str) -> String {
    let mut v = Vec::new();
    push_escaped(&mut v, s);
    String::from_utf8(v).expect("escaping keeps UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::message::{Id, Lang, MessageType};
    use xmpp_parsers::minidom::Element;

    fn parse_all(bytes: &[u8]) -> Vec<Element> {
        let doc = format!("<stream:stream xmlns='jabber:component:accept' xmlns:stream='{STREAM_NS}'>{}</stream:stream>", String::from_utf8(bytes.to_vec()).unwrap());
        let root: Element = doc.parse().expect("well-formed output");
        root.children().cloned().collect()
    }

    fn fan_out() -> FanOut {
        let mut m = Message::new(None);
        m.from = Some("room@muc.example/ni'ck".parse().unwrap());
        m.type_ = MessageType::Groupchat;
        m.id = Some(Id("id&1".into()));
        m.bodies.insert(Lang::new(), "hi <there> & 'all'".into());
        m.payloads.push(crate::xmpp::el("stanza-id", "urn:xmpp:sid:0", &[("id", "1"), ("by", "room@muc.example")]));
        m.payloads.push(Element::bare("active", "http://jabber.org/protocol/chatstates"));
        let to = ["a@example.org/r1", "b@example.org/it's <me> & \"you\"", "c@example.org"].iter().map(|s| s.parse().unwrap()).collect();
        FanOut::message(m, to)
    }

    #[test]
    fn fan_out_is_each_stanza() {
        let f = fan_out();
        let mut w = Writer::new();
        assert_eq!(w.push(&Out::FanOut(f.clone())).unwrap(), 3);
        let got = parse_all(&w.buf);
        let mut each = Writer::new();
        for s in f.stanzas() {
            each.stanza(&s).unwrap();
        }
        assert!(!each.buf.is_empty());
        let want = parse_all(&each.buf);
        assert_eq!(got, want);
    }

    #[test]
    fn compact_multicast_lists_the_recipients_one_per_line() {
        let f = fan_out();
        let mut w = Writer::new();
        w.set_multicast(Some(&"example.org".parse().unwrap()), true);
        w.push(&Out::FanOut(f.clone())).unwrap();
        let got = parse_all(&w.buf);
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.attr("to"), Some("example.org"));
        let list = m.get_child("recipients", RECIPIENTS_NS).expect("recipients");
        assert_eq!(list.text().split('\n').collect::<Vec<_>>(), f.to.iter().map(|j| j.as_str()).collect::<Vec<_>>());
        assert!(m.get_child("addresses", ADDRESS_NS).is_none());
        // Without the list and with a recipient's `to`, it is that recipient's stanza.
        let mut copy = m.clone();
        copy.remove_child("recipients", RECIPIENTS_NS);
        crate::xmpp::set_attr(&mut copy, "to", f.to[2].as_str());
        let mut each = Writer::new();
        each.stanza(&f.stanzas().nth(2).unwrap()).unwrap();
        assert_eq!(copy, parse_all(&each.buf)[0]);
    }

    #[test]
    fn multicast_is_one_stanza_with_bcc_addresses() {
        let f = fan_out();
        let mut w = Writer::new();
        w.set_multicast(Some(&"example.org".parse().unwrap()), false);
        w.push(&Out::FanOut(f.clone())).unwrap();
        let got = parse_all(&w.buf);
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.attr("to"), Some("example.org"));
        assert_eq!(m.attr("from"), Some("room@muc.example/ni'ck"));
        let addresses = m.children().next().expect("addresses first");
        assert!(addresses.is("addresses", ADDRESS_NS));
        let jids: Vec<&str> = addresses.children().map(|a| {
            assert_eq!(a.attr("type"), Some("bcc"));
            a.attr("jid").unwrap()
        }).collect();
        assert_eq!(jids, f.to.iter().map(|j| j.as_str()).collect::<Vec<_>>());
        // Without the addresses and with a recipient's `to`, it is that recipient's stanza.
        let mut copy = m.clone();
        copy.remove_child("addresses", ADDRESS_NS);
        crate::xmpp::set_attr(&mut copy, "to", f.to[1].as_str());
        let mut each = Writer::new();
        each.stanza(&f.stanzas().nth(1).unwrap()).unwrap();
        assert_eq!(copy, parse_all(&each.buf)[0]);
        // One recipient: no multicast.
        let mut w = Writer::new();
        w.set_multicast(Some(&"example.org".parse().unwrap()), false);
        w.push(&Out::FanOut(FanOut { to: vec![f.to[0].clone()], ..f })).unwrap();
        assert_eq!(parse_all(&w.buf)[0].attr("to"), Some("a@example.org/r1"));
    }

    #[test]
    fn presence_fan_out_is_each_stanza_and_multicasts() {
        let mut p = Presence::new(xmpp_parsers::presence::Type::None);
        p.from = Some("room@muc.example/nick".parse().unwrap());
        p.payloads.push(crate::xmpp::el("x", "http://jabber.org/protocol/muc#user", &[]));
        let to: Vec<Jid> = ["a@example.org/1", "b@example.org/2"].iter().map(|s| s.parse().unwrap()).collect();
        let f = FanOut { template: Template::Presence(p), to };
        let mut w = Writer::new();
        w.push(&Out::FanOut(f.clone())).unwrap();
        let mut each = Writer::new();
        for s in f.stanzas() {
            each.stanza(&s).unwrap();
        }
        assert_eq!(parse_all(&w.buf), parse_all(&each.buf));
        let mut m = Writer::new();
        m.set_multicast(Some(&"example.org".parse().unwrap()), false);
        m.push(&Out::FanOut(f)).unwrap();
        let got = parse_all(&m.buf);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name(), "presence");
        assert_eq!(got[0].attr("to"), Some("example.org"));
        assert_eq!(got[0].children().next().unwrap().children().count(), 2);
    }

    #[test]
    fn large_multicast_is_split() {
        let mut f = fan_out();
        f.to = (0..MAX_ADDRESSES + 2).map(|i| format!("u{i}@example.org/r").parse().unwrap()).collect();
        let mut w = Writer::new();
        w.set_multicast(Some(&"example.org".parse().unwrap()), false);
        w.push(&Out::FanOut(f.clone())).unwrap();
        let got = parse_all(&w.buf);
        assert_eq!(got.len(), 2);
        let jids: Vec<String> = got.iter().flat_map(|m| m.children().next().unwrap().children().map(|a| a.attr("jid").unwrap().to_string()).collect::<Vec<_>>()).collect();
        assert_eq!(jids, f.to.iter().map(|j| j.to_string()).collect::<Vec<_>>());
        assert_eq!(got[1].children().next().unwrap().children().count(), 2);
    }

    #[test]
    fn stanzas_have_no_namespace_declaration() {
        let mut w = Writer::new();
        let f = fan_out();
        w.stanza(&f.stanzas().next().unwrap()).unwrap();
        w.push(&Out::FanOut(f)).unwrap();
        let s = String::from_utf8(w.buf.clone()).unwrap();
        assert!(s.starts_with("<message "), "{s}");
        assert!(!s.contains("jabber:component:accept"), "{s}");
    }
}
