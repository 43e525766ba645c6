//! Message content: what is archived and reflected of a sender's message,
//! and conversions between the component namespace (the link) and
//! `jabber:client` (the archive and MAM results).

use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::minidom::{Element, Node};

use super::ns;

/// The message without what the service adds itself or must not trust from
/// a sender: `<mix/>`, stanza-ids claiming to be by this channel,
/// occupant-ids (XEP-0421 says to strip them), MUC user data. Everything
/// else passes through.
/// `ours` tells whether a `by` is this channel (its MIX or MUC JID).
pub fn strip_for_archive(m: &Message, ours: impl Fn(&str) -> bool) -> Message {
    let ours = |by: Option<&str>| by.is_some_and(&ours);
    let payloads = m
        .payloads
        .iter()
        .filter(|p| {
            let (n, name) = (p.ns(), p.name());
            !((n == ns::MIX_CORE && name == "mix")
                || (n == ns::SID && name == "stanza-id" && ours(p.attr("by")))
                || (n == ns::OCCUPANT_ID && name == "occupant-id")
                || (n == ns::MUC_USER && name == "x"))
        })
        .cloned()
        .collect();
    Message {
        from: None,
        to: None,
        id: None,
        type_: MessageType::Groupchat,
        bodies: m.bodies.clone(),
        subjects: m.subjects.clone(),
        thread: m.thread.clone(),
        payloads,
    }
}

/// Rewrites elements of the component namespace into `jabber:client`.
pub fn to_client_ns(e: Element) -> Element {
    rename_ns(e, xmpp_parsers::ns::COMPONENT_ACCEPT, xmpp_parsers::ns::JABBER_CLIENT)
}

/// Rewrites elements of `jabber:client` into the component namespace.
pub fn to_component_ns(e: Element) -> Element {
    rename_ns(e, xmpp_parsers::ns::JABBER_CLIENT, xmpp_parsers::ns::COMPONENT_ACCEPT)
}

fn rename_ns(mut e: Element, from: &str, to: &str) -> Element {
    let ns = e.ns();
    let mut out = Element::bare(e.name(), if ns == from { to.to_string() } else { ns });
    *out.attrs_mut() = e.attrs().clone();
    for node in e.take_nodes() {
        match node {
            Node::Element(child) => out.append_node(Node::Element(rename_ns(child, from, to))),
            other => out.append_node(other),
        }
    }
    out
}

/// The archived form of a message's content: `<message xmlns='jabber:client'
/// type='groupchat'>` with the children, as text.
///
/// Written directly: bodies and subjects as text, the thread and payloads
/// through minidom. (Building the whole message as an `Element` and
/// renaming its namespace was 9 % of mixmuc's CPU for small rooms.)
pub fn to_archive_xml(content: &Message) -> String {
    let mut s = String::with_capacity(128 + content.bodies.values().map(String::len).sum::<usize>());
    s.push_str("<message xmlns='jabber:client' type='groupchat'>");
    for (name, texts) in [("body", &content.bodies), ("subject", &content.subjects)] {
        for (lang, text) in texts {
            s.push('<');
            s.push_str(name);
            if !lang.0.is_empty() {
                s.push_str(" xml:lang='");
                escape_into(&mut s, &lang.0);
                s.push('\'');
            }
            s.push('>');
            escape_into(&mut s, text);
            s.push_str("</");
            s.push_str(name);
            s.push('>');
        }
    }
    let children = content.thread.iter().map(|t| Element::from(t.clone())).chain(content.payloads.iter().cloned());
    for child in children {
        s.push_str(&String::from(&to_client_ns(child)));
    }
    s.push_str("</message>");
    s
}

/// XML-escapes `text` for character data and single-quoted attributes.
fn escape_into(s: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '\'', '"']) {
        s.push_str(&rest[..i]);
        s.push_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' => "&apos;",
            _ => "&quot;",
        });
        rest = &rest[i + 1..];
    }
    s.push_str(rest);
}

/// Parses an archived message back (jabber:client namespace).
pub fn from_archive_xml(payload: &str) -> Option<Element> {
    payload.parse::<Element>().ok()
}

/// An archived message as rendered (`jabber:client`) made a message to
/// send (the component namespace); `None`, logged, when it does not parse.
pub fn to_message(e: Element, id: &str) -> Option<Message> {
    match Message::try_from(to_component_ns(e)) {
        Ok(m) => Some(m),
        Err(err) => {
            tracing::error!(id = %id, %err, "archived message unrenderable");
            None
        }
    }
}

/// A groupchat with a subject and no body: a subject change (XEP-0045
/// §8.1), whichever view it was sent to.
pub fn is_subject_change(m: &Message) -> bool {
    m.bodies.is_empty() && !m.subjects.is_empty()
}

/// What of a private message is relayed: everything but the addresses and
/// what the service adds itself or must not trust from a sender (MUC user
/// data, occupant ids, `<mix/>`). Keeps the id and the type.
pub fn relay_content(m: &Message) -> Message {
    let mut out = m.clone();
    out.from = None;
    out.to = None;
    out.payloads.retain(|p| !(p.is("x", ns::MUC_USER) || p.is("occupant-id", ns::OCCUPANT_ID) || p.is("mix", ns::MIX_CORE)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The archived form read back is the message as minidom would have
    /// written it whole (the form of earlier versions).
    #[test]
    fn archive_xml_reads_back_as_the_whole_element() {
        let inputs = [
            "<message xmlns='jabber:component:accept' type='groupchat'><body>plain</body></message>",
            "<message xmlns='jabber:component:accept' type='groupchat'><body>a &amp; b &lt;c&gt; 'q' \"d\"</body><body xml:lang='de'>Grüße</body>\
             <subject xml:lang='fr'>sujet</subject><thread parent='p1'>t1</thread>\
             <origin-id xmlns='urn:xmpp:sid:0' id='o&apos;1'/>\
             <forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:component:accept' to='a@b'><body>inner</body></message></forwarded></message>",
            "<message xmlns='jabber:component:accept' type='groupchat'/>",
        ];
        for input in inputs {
            let m = Message::try_from(input.parse::<Element>().unwrap()).unwrap();
            let whole = String::from(&to_client_ns(Element::from(m.clone())));
            let got = to_archive_xml(&m);
            assert_eq!(from_archive_xml(&got).expect("well-formed"), from_archive_xml(&whole).unwrap(), "{got}");
        }
    }
}
