//! Presence as the service keeps and passes it on (XEP-0045 occupant
//! presence, XEP-0403 MIX presence): show, statuses and every payload except
//! what the service adds itself or must not trust; never the priority.

use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};

use super::{content, ns};

/// Is this payload the sender's own, to pass on? Not: the client's MUC
/// join element and MUC user data, MIX presence data, occupant ids,
/// delays (the service speaks for now).
fn passed_on(p: &Element) -> bool {
    let ours = [(ns::MUC, "x"), (ns::MUC_USER, "x"), (ns::MIX_PRESENCE, "mix"), (ns::OCCUPANT_ID, "occupant-id"), (ns::DELAY, "delay")];
    !ours.iter().any(|(n, name)| p.is(*name, *n))
}

/// What is kept of an available presence: a `<presence
/// xmlns='jabber:client'>` with show, statuses and passed-on payloads, as
/// text. None when there is nothing (plain available).
pub fn stored(p: &Presence) -> Option<String> {
    let payloads: Vec<Element> = p.payloads.iter().filter(|e| passed_on(e)).cloned().collect();
    if p.show.is_none() && p.statuses.is_empty() && payloads.is_empty() {
        return None;
    }
    let mut kept = Presence::new(PresenceType::None);
    kept.show = p.show.clone();
    kept.statuses = p.statuses.clone();
    kept.payloads = payloads;
    let mut e = content::to_client_ns(Element::from(kept));
    // xmpp-parsers always writes a <priority/>: not ours to keep.
    e.remove_child("priority", xmpp_parsers::ns::JABBER_CLIENT);
    Some(String::from(&e))
}

/// What is kept of an unavailable presence: its statuses only (XEP-0045
/// 7.14 exit message). None when it has none.
pub fn leaving(p: &Presence) -> Option<String> {
    if p.statuses.is_empty() {
        return None;
    }
    let mut kept = Presence::new(PresenceType::Unavailable);
    kept.statuses = p.statuses.clone();
    let mut e = content::to_client_ns(Element::from(kept));
    e.remove_child("priority", xmpp_parsers::ns::JABBER_CLIENT);
    Some(String::from(&e))
}

/// Parses a kept presence (None when the text is not one).
pub fn parse(stored: &str) -> Option<Presence> {
    let e: Element = stored.parse().ok()?;
    Presence::try_from(content::to_component_ns(e)).ok()
}

/// Copies a kept presence's show, statuses and payloads into `out`.
pub fn apply(out: &mut Presence, stored: Option<&str>) {
    if let Some(kept) = stored.and_then(parse) {
        out.show = kept.show;
        out.statuses = kept.statuses;
        out.payloads.extend(kept.payloads);
    }
}
