//! A serialiser for outgoing `<message/>` stanzas that produces the same
//! XML items as xmpp-parsers' derived one, without its cost.
//!
//! The derived serialiser of `Message` is a state machine whose whole state
//! (several nested iterators) is copied on every XML item it produces; in a
//! fan-out that copying was the largest single cost of mixmuc. This one
//! keeps its state small:
//! the message's head, bodies and subjects as a list of items, then the
//! thread and the payloads each through their own serialiser.
//! `tests::same_bytes` checks that both give the same bytes.
//!
//! Kept because of what it buys: +64 % stanzas out per CPU-second in a room
//! of 200 against the derived serialiser (docs/benchmarks.md, "What the
//! hand-written parts buy").

use std::borrow::Cow;

use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::rxml::{Namespace, NcNameStr};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;
use xso::error::Error;
use xso::{AsOptionalXmlText, AsXml, Item};

/// `message` serialised with [`MessageItems`].
pub struct MessageXml<'a>(pub &'a Message);

type DynItems<'x> = Box<dyn Iterator<Item = Result<Item<'x>, Error>> + 'x>;

/// The items of one message.
pub struct MessageItems<'x> {
    /// Head, bodies and subjects.
    head: std::vec::IntoIter<Item<'x>>,
    thread: Option<DynItems<'x>>,
    payloads: std::slice::Iter<'x, Element>,
    current: Option<<Element as AsXml>::ItemIter<'x>>,
    foot: bool,
}

fn name(s: &'static str) -> Cow<'static, NcNameStr> {
    Cow::Owned(s.try_into().expect("static names are valid"))
}

fn attr<'x>(items: &mut Vec<Item<'x>>, n: &'static str, value: Option<Cow<'x, str>>) {
    if let Some(v) = value {
        items.push(Item::Attribute(Namespace::NONE, name(n), v));
    }
}

/// `<name xml:lang='lang'>text</name>` for bodies and subjects.
fn texts<'x>(items: &mut Vec<Item<'x>>, n: &'static str, map: &'x std::collections::BTreeMap<xmpp_parsers::message::Lang, String>) -> Result<(), Error> {
    for (lang, text) in map {
        items.push(Item::ElementHeadStart(Namespace::from(ns::DEFAULT_NS), name(n)));
        if let Some(l) = lang.as_optional_xml_text()? {
            items.push(Item::Attribute(Namespace::XML, name("lang"), l));
        }
        items.push(Item::ElementHeadEnd);
        items.push(Item::Text(Cow::Borrowed(text.as_str())));
        items.push(Item::ElementFoot);
    }
    Ok(())
}

impl AsXml for MessageXml<'_> {
    type ItemIter<'x>
        = MessageItems<'x>
    where
        Self: 'x;

    fn as_xml_iter(&self) -> Result<MessageItems<'_>, Error> {
        let m = self.0;
        let mut head = Vec::with_capacity(8 + 5 * (m.bodies.len() + m.subjects.len()));
        head.push(Item::ElementHeadStart(Namespace::from(ns::DEFAULT_NS), name("message")));
        attr(&mut head, "from", m.from.as_optional_xml_text()?);
        attr(&mut head, "to", m.to.as_optional_xml_text()?);
        attr(&mut head, "id", m.id.as_optional_xml_text()?);
        attr(&mut head, "type", m.type_.as_optional_xml_text()?);
        head.push(Item::ElementHeadEnd);
        texts(&mut head, "body", &m.bodies)?;
        texts(&mut head, "subject", &m.subjects)?;
        Ok(MessageItems { head: head.into_iter(), thread: m.thread.as_ref().map(|t| t.as_xml_dyn_iter()).transpose()?, payloads: m.payloads.iter(), current: None, foot: true })
    }
}

impl<'x> Iterator for MessageItems<'x> {
    type Item = Result<Item<'x>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(i) = self.head.next() {
            return Some(Ok(i));
        }
        if let Some(t) = &mut self.thread {
            match t.next() {
                Some(i) => return Some(i),
                None => self.thread = None,
            }
        }
        loop {
            if let Some(c) = &mut self.current {
                match c.next() {
                    Some(i) => return Some(i),
                    None => self.current = None,
                }
            }
            match self.payloads.next() {
                Some(p) => match p.as_xml_iter() {
                    Ok(it) => self.current = Some(it),
                    Err(e) => return Some(Err(e)),
                },
                None => break,
            }
        }
        if self.foot {
            self.foot = false;
            return Some(Ok(Item::ElementFoot));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::message::{Id, Lang, MessageType, Thread};

    fn check(m: &Message) {
        let derived = xso::to_vec(m).expect("derived serialiser");
        let fast = xso::to_vec(&MessageXml(m)).expect("fast serialiser");
        assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&derived));
    }

    #[test]
    fn same_bytes() {
        let mut m = Message::new(None);
        check(&m);
        m.type_ = MessageType::Normal;
        check(&m);
        m.from = Some("room@muc.example/nick".parse().unwrap());
        m.to = Some("user@example.org/r<&'\"".parse().unwrap_or_else(|_| "user@example.org/r".parse().unwrap()));
        m.id = Some(Id("a'b\"c<d>&e".into()));
        m.type_ = MessageType::Groupchat;
        check(&m);
        m.bodies.insert(Lang::new(), "hello <world> & 'you' \"all\"\r\n\t]]>".into());
        m.bodies.insert(Lang::from("de"), "hallo".into());
        m.bodies.insert(Lang::from("en-GB"), String::new());
        check(&m);
        m.subjects.insert(Lang::new(), "topic".into());
        m.subjects.insert(Lang::from("fr"), "sujet".into());
        check(&m);
        m.thread = Some(Thread { parent: Some("p1".into()), id: "t1".into() });
        check(&m);
        m.thread = Some(Thread { parent: None, id: "t2".into() });
        check(&m);
        let mut x = Element::bare("x", "http://jabber.org/protocol/muc#user");
        let mut item = Element::bare("item", "http://jabber.org/protocol/muc#user");
        crate::xmpp::set_attr(&mut item, "affiliation", "owner");
        x.append_child(item);
        x.append_text("text & more");
        m.payloads.push(x);
        m.payloads.push(crate::xmpp::el("stanza-id", "urn:xmpp:sid:0", &[("id", "1"), ("by", "room@muc.example")]));
        m.payloads.push(Element::bare("active", "http://jabber.org/protocol/chatstates"));
        m.payloads.push(Element::bare("inner", ns::DEFAULT_NS));
        check(&m);
        for t in [MessageType::Chat, MessageType::Error, MessageType::Headline] {
            m.type_ = t;
            check(&m);
        }
        // Parsed from the wire, with foreign children and a prefixed attribute.
        let parsed: Element = "<message xmlns='jabber:component:accept' from='a@b/c' to='d@e' type='groupchat' id='x'><body xml:lang='en'>hi</body><body>plain</body><foo xmlns='urn:foo' xmlns:p='urn:p' p:q='1'><p:bar/></foo><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hi</p></body></html></message>".parse().unwrap();
        let m = Message::try_from(parsed).unwrap();
        check(&m);
    }
}
