//! Message content: what is archived and reflected of a sender's message,
//! and conversions between the component namespace (the link) and
//! `jabber:client` (the archive and MAM results).

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::minidom::{Element, Node};

use super::ns;

/// The message without what the service adds itself or must not trust from
/// a sender: `<mix/>`, stanza-ids claiming to be by this channel,
/// occupant-ids (XEP-0421 says to strip them), MUC user data. Everything
/// else passes through.
pub fn strip_for_archive(m: &Message, mix_channel: &BareJid, muc_room: &BareJid) -> Message {
    let ours = |by: Option<&str>| by.is_some_and(|b| b == mix_channel.as_str() || b == muc_room.as_str());
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
pub fn to_archive_xml(content: &Message) -> String {
    let e = to_client_ns(Element::from(content.clone()));
    String::from(&e)
}

/// Parses an archived message back (jabber:client namespace).
pub fn from_archive_xml(payload: &str) -> Option<Element> {
    payload.parse::<Element>().ok()
}
