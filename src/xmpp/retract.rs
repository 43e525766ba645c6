//! Retraction and moderation on the wire: XEP-0424 (a sender takes its
//! message back), XEP-0425 (a moderator removes one), each in its current
//! form and the older one inside a XEP-0422 `<apply-to/>` that clients
//! still send, and the MIX retraction (`<retract/>` and `<retracted/>` of
//! the MIX core namespace). Parsing the requests, building the
//! announcements and the tombstones; the views pick what they send.

use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::Element;

use super::{el, ns};
use crate::error::{Error, Result};

/// Fallback text of a sender's retraction (XEP-0428), for clients that do
/// not know XEP-0424.
pub const RETRACTED_TEXT: &str = "/me retracted a previous message, but it's unsupported by your client.";
/// Fallback text of a moderator's removal.
pub const MODERATED_TEXT: &str = "A message was removed by a moderator.";

/// The archive id a message retracts: XEP-0424's `<retract id/>`, the
/// older `<apply-to id><retract/></apply-to>`, or the MIX `<retract id/>`.
pub fn target(m: &Message) -> Option<&str> {
    m.payloads.iter().find_map(|p| {
        if p.is("retract", ns::RETRACT) || p.is("retract", ns::MIX_CORE) {
            return p.attr("id");
        }
        if p.is("apply-to", ns::FASTEN) && p.get_child("retract", ns::RETRACT_0).is_some() {
            return p.attr("id");
        }
        None
    })
}

/// A moderator's request (XEP-0425): which message, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerateRequest {
    pub id: String,
    pub reason: Option<String>,
}

/// Whether an IQ payload is a moderation request (current or older form).
pub fn is_moderate(payload: &Element) -> bool {
    payload.is("moderate", ns::MODERATE) || (payload.is("apply-to", ns::FASTEN) && payload.get_child("moderate", ns::MODERATE_0).is_some())
}

/// Reads `<moderate id><retract/><reason/></moderate>` (0.3) or
/// `<apply-to id><moderate><retract/><reason/></moderate></apply-to>`
/// (0.2). Retraction is the one action offered.
pub fn parse_moderate(payload: &Element) -> Result<ModerateRequest> {
    let (id, moderate, retract_ns) = if payload.is("moderate", ns::MODERATE) {
        (payload.attr("id"), payload, ns::RETRACT)
    } else {
        let m = payload.get_child("moderate", ns::MODERATE_0).ok_or_else(|| Error::bad_request("not a moderation request"))?;
        (payload.attr("id"), m, ns::RETRACT_0)
    };
    let id = id.filter(|i| !i.is_empty()).ok_or_else(|| Error::bad_request("the moderation request names no message id"))?;
    if moderate.get_child("retract", retract_ns).is_none() {
        return Err(Error::feature_not_implemented("retraction is the only moderation action offered"));
    }
    let reason = moderate.children().find(|c| c.name() == "reason").map(|r| r.text()).filter(|r| !r.trim().is_empty());
    Ok(ModerateRequest { id: id.to_string(), reason })
}

/// Who removed a message, as the view shows it: its address there (a room
/// occupant JID, a MIX participant JID, or the channel's when it has
/// none) and its occupant id.
#[derive(Debug, Clone, Copy)]
pub struct Moderation<'a> {
    pub by: &'a str,
    pub occupant_id: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// The children of a retraction announcement (XEP-0424 / XEP-0425), in
/// both forms, and with `fallback_ns` (the namespace of the message they
/// go into) a fallback body for clients that know neither.
pub fn announcement(target: &str, moderation: Option<&Moderation>, fallback_ns: Option<&str>) -> Vec<Element> {
    let mut retract = el("retract", ns::RETRACT, &[("id", target)]);
    let mut apply_to = el("apply-to", ns::FASTEN, &[("id", target)]);
    let text = match moderation {
        None => {
            apply_to.append_child(Element::bare("retract", ns::RETRACT_0));
            RETRACTED_TEXT
        }
        Some(m) => {
            retract.append_child(moderated(ns::MODERATE, m));
            let mut old = el("moderated", ns::MODERATE_0, &[("by", m.by)]);
            old.append_child(Element::bare("retract", ns::RETRACT_0));
            if let Some(r) = m.reason {
                retract.append_child(text_el("reason", ns::RETRACT, r));
                old.append_child(text_el("reason", ns::MODERATE_0, r));
            }
            apply_to.append_child(old);
            MODERATED_TEXT
        }
    };
    let mut out = vec![retract, apply_to];
    if let Some(client_ns) = fallback_ns {
        out.push(el("fallback", ns::FALLBACK, &[("for", ns::RETRACT)]));
        out.push(text_el("body", client_ns, text));
    }
    out
}

/// The tombstone of a retracted message (XEP-0424 §Tombstones, XEP-0425
/// with its moderator), in the current form, and the older moderation
/// form too.
pub fn tombstone(stamp: &str, retraction_id: &str, moderation: Option<&Moderation>) -> Vec<Element> {
    let mut retracted = el("retracted", ns::RETRACT, &[("stamp", stamp), ("id", retraction_id)]);
    let Some(m) = moderation else { return vec![retracted] };
    retracted.append_child(moderated(ns::MODERATE, m));
    let mut old = el("moderated", ns::MODERATE_0, &[("by", m.by)]);
    old.append_child(el("retracted", ns::RETRACT_0, &[("stamp", stamp)]));
    if let Some(r) = m.reason {
        retracted.append_child(text_el("reason", ns::RETRACT, r));
        old.append_child(text_el("reason", ns::MODERATE_0, r));
    }
    vec![retracted, old]
}

/// The MIX retraction: `<retract xmlns='urn:xmpp:mix:core:1' id/>`.
pub fn mix_retract(target: &str) -> Element {
    el("retract", ns::MIX_CORE, &[("id", target)])
}

/// The MIX tombstone: `<retracted by time/>`.
pub fn mix_retracted(by: &str, time: &str) -> Element {
    el("retracted", ns::MIX_CORE, &[("by", by), ("time", time)])
}

fn moderated(namespace: &str, m: &Moderation) -> Element {
    let mut e = el("moderated", namespace, &[("by", m.by)]);
    if let Some(id) = m.occupant_id {
        e.append_child(el("occupant-id", ns::OCCUPANT_ID, &[("id", id)]));
    }
    e
}

fn text_el(name: &str, namespace: &str, text: &str) -> Element {
    let mut e = Element::bare(name, namespace);
    e.append_text_node(text);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<ModerateRequest> {
        parse_moderate(&xml.parse::<Element>().unwrap())
    }

    #[test]
    fn moderation_requests_in_both_forms() {
        let new = parse("<moderate xmlns='urn:xmpp:message-moderate:1' id='s1'><retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate>").unwrap();
        assert_eq!(new, ModerateRequest { id: "s1".into(), reason: Some("spam".into()) });
        let old = parse(
            "<apply-to xmlns='urn:xmpp:fasten:0' id='s2'><moderate xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/></moderate></apply-to>",
        )
        .unwrap();
        assert_eq!(old, ModerateRequest { id: "s2".into(), reason: None });
        assert!(parse("<moderate xmlns='urn:xmpp:message-moderate:1'><retract xmlns='urn:xmpp:message-retract:1'/></moderate>").is_err());
        assert!(parse("<moderate xmlns='urn:xmpp:message-moderate:1' id='s3'/>").is_err());
    }

    #[test]
    fn retraction_targets() {
        let m = |payload: &str| {
            let xml = format!("<message xmlns='jabber:component:accept' type='groupchat'>{payload}</message>");
            Message::try_from(xml.parse::<Element>().unwrap()).unwrap()
        };
        assert_eq!(target(&m("<retract xmlns='urn:xmpp:message-retract:1' id='a'/>")), Some("a"));
        assert_eq!(target(&m("<retract xmlns='urn:xmpp:mix:core:1' id='b'/>")), Some("b"));
        assert_eq!(target(&m("<apply-to xmlns='urn:xmpp:fasten:0' id='c'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to>")), Some("c"));
        assert_eq!(target(&m("<apply-to xmlns='urn:xmpp:fasten:0' id='d'><other xmlns='x'/></apply-to>")), None);
        assert_eq!(target(&m("<body>hi</body>")), None);
    }
}
