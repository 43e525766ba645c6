//! Wire types and helpers that xmpp-parsers lacks. No I/O here.

pub mod adhoc;
pub mod content;
pub mod form;
pub mod mam;
pub mod mix;
pub mod muc;
pub mod muc_admin;
pub mod ns;
pub mod presence;
pub mod reply;
pub mod retract;

use xmpp_parsers::minidom::rxml::{Namespace, NcName};
use xmpp_parsers::minidom::Element;

/// Sets an unqualified attribute.
pub fn set_attr(e: &mut Element, name: &str, value: impl Into<String>) {
    let n = NcName::try_from(name).expect("attribute names used here are valid");
    e.set_attr(Namespace::NONE, n, value.into());
}

/// `<name xmlns=ns>text</name>`.
pub fn text_el(name: &str, ns: &str, text: impl Into<String>) -> Element {
    let mut e = Element::bare(name, ns);
    e.append_text(text.into());
    e
}

/// An element with unqualified attributes.
pub fn el(name: &str, ns: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::bare(name, ns);
    for (k, v) in attrs {
        set_attr(&mut e, k, *v);
    }
    e
}

/// A JID attribute naming a user or a whole server (affiliation lists, the
/// MIX banned and allowed nodes): a bare JID or a domain, normalised; a
/// full JID or an invalid one is `jid-malformed`.
pub fn bare_or_domain(raw: &str) -> crate::error::Result<String> {
    use crate::error::Error;
    let jid: xmpp_parsers::jid::Jid = raw.parse().map_err(|_| Error::jid_malformed("not a valid JID"))?;
    if jid.resource().is_some() {
        return Err(Error::jid_malformed("a bare JID is expected"));
    }
    Ok(jid.to_bare().to_string())
}
