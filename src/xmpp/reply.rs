//! The one place that turns an error into an error stanza addressed back to
//! the sender, and builds IQ results.

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::StanzaError;

use crate::error::Error;
use crate::xmpp::ns;

/// The result of an IQ get/set: swaps the addresses, keeps the id.
pub fn iq_result(from: &Option<Jid>, to: &Option<Jid>, id: &str, payload: Option<Element>) -> Stanza {
    Stanza::Iq(Iq::Result { from: to.clone(), to: from.clone(), id: id.to_string(), payload })
}

/// The entity that generated an error (RFC 6120 §8.3.2 `by`): the service,
/// channel or room addressed, never the occupant or participant JID it
/// answers for (XEP-0045 examples: `by='coven@chat.shakespeare.lit'` on
/// errors to `coven@chat.shakespeare.lit/thirdwitch`, as Prosody does).
fn error_by(to: &Option<Jid>) -> Option<Jid> {
    to.as_ref().map(|j| Jid::from(j.to_bare()))
}

/// The error reply to a stanza, or `None` when none may be sent (an error
/// must not answer an error; a stanza without a sender cannot be answered).
/// A presence error to a MUC join echoes its `<x xmlns='…muc'/>` (XEP-0045
/// §7.2), so the client can tell the join failed.
pub fn error_reply(stanza: &Stanza, err: &Error) -> Option<Stanza> {
    let mut e: StanzaError = err.to_stanza_error();
    match stanza {
        Stanza::Iq(Iq::Get { from, to, id, .. }) | Stanza::Iq(Iq::Set { from, to, id, .. }) => {
            from.as_ref()?;
            e.by = error_by(to);
            Some(Stanza::Iq(Iq::Error { from: to.clone(), to: from.clone(), id: id.clone(), error: e, payload: None }))
        }
        Stanza::Iq(_) => None,
        Stanza::Message(m) => {
            if m.type_ == MessageType::Error || m.from.is_none() {
                return None;
            }
            e.by = error_by(&m.to);
            let mut r = Message::new_with_type(MessageType::Error, m.from.clone());
            r.from = m.to.clone();
            r.id = m.id.clone();
            r.payloads.push(e.into());
            Some(Stanza::Message(r))
        }
        Stanza::Presence(p) => {
            if p.type_ == PresenceType::Error || p.from.is_none() {
                return None;
            }
            e.by = error_by(&p.to);
            let mut r = Presence::new(PresenceType::Error);
            r.from = p.to.clone();
            r.to = p.from.clone();
            r.id = p.id.clone();
            if p.payloads.iter().any(|x| x.is("x", ns::MUC)) {
                r.payloads.push(Element::bare("x", ns::MUC));
            }
            r.payloads.push(e.into());
            Some(Stanza::Presence(r))
        }
    }
}

/// The defined condition of an error stanza (`item-not-found`), `None`
/// for any other stanza (the `mixmuc_stanza_errors` metric).
pub fn error_condition(stanza: &Stanza) -> Option<String> {
    let payloads = match stanza {
        Stanza::Iq(Iq::Error { error, .. }) => return Some(crate::error::condition_name(&error.defined_condition)),
        Stanza::Iq(_) => return None,
        Stanza::Message(m) if m.type_ == MessageType::Error => &m.payloads,
        Stanza::Presence(p) if p.type_ == PresenceType::Error => &p.payloads,
        Stanza::Message(_) | Stanza::Presence(_) => return None,
    };
    let error = payloads.iter().find(|e| e.name() == "error")?;
    let condition = error.children().find(|c| c.ns() == xmpp_parsers::ns::XMPP_STANZAS && c.name() != "text").map(|c| c.name().to_string());
    Some(condition.unwrap_or_else(|| "undefined-condition".into()))
}

/// An error stanza for a stanza that failed to parse, from its raw header.
pub fn raw_error_reply(kind: &str, from: Option<&str>, to: Option<&str>, id: Option<&str>, type_: Option<&str>, err: &Error) -> Option<Stanza> {
    if type_ == Some("error") {
        return None;
    }
    let sender: Jid = from?.parse().ok()?;
    let us: Option<Jid> = to.and_then(|t| t.parse().ok());
    let mut e = err.to_stanza_error();
    e.by = error_by(&us);
    match kind {
        "iq" => Some(Stanza::Iq(Iq::Error { from: us, to: Some(sender), id: id?.to_string(), error: e, payload: None })),
        "message" => {
            let mut r = Message::new_with_type(MessageType::Error, Some(sender));
            r.from = us;
            r.id = id.map(|i| xmpp_parsers::message::Id(i.to_string()));
            r.payloads.push(e.into());
            Some(Stanza::Message(r))
        }
        "presence" => {
            let mut r = Presence::new(PresenceType::Error);
            r.from = us;
            r.to = Some(sender);
            r.id = id.map(str::to_string);
            r.payloads.push(e.into());
            Some(Stanza::Presence(r))
        }
        _ => None,
    }
}

/// The recipient of an IQ.
pub fn iq_to(iq: &Iq) -> Option<&Jid> {
    match iq {
        Iq::Get { to, .. } | Iq::Set { to, .. } | Iq::Result { to, .. } | Iq::Error { to, .. } => to.as_ref(),
    }
}

/// The sender of an IQ.
pub fn iq_from(iq: &Iq) -> Option<&Jid> {
    match iq {
        Iq::Get { from, .. } | Iq::Set { from, .. } | Iq::Result { from, .. } | Iq::Error { from, .. } => from.as_ref(),
    }
}

/// (kind, id, from, to) of any stanza.
pub(crate) fn header(stanza: &Stanza) -> (&'static str, Option<&str>, Option<&Jid>, Option<&Jid>) {
    match stanza {
        Stanza::Iq(Iq::Get { from, to, id, .. } | Iq::Set { from, to, id, .. } | Iq::Result { from, to, id, .. } | Iq::Error { from, to, id, .. }) => {
            ("iq", Some(id.as_str()), from.as_ref(), to.as_ref())
        }
        Stanza::Message(m) => ("message", m.id.as_ref().map(|i| i.0.as_str()), m.from.as_ref(), m.to.as_ref()),
        Stanza::Presence(p) => ("presence", p.id.as_deref(), p.from.as_ref(), p.to.as_ref()),
    }
}
