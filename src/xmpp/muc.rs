//! XEP-0045 `muc#user` payloads the service sends (presence items, status
//! codes, destroy), built as elements.

use xmpp_parsers::minidom::Element;

use super::{el, ns, text_el};

/// `<x xmlns='…muc#user'><item …/><status code=…/>…</x>`.
pub struct UserX<'a> {
    pub affiliation: &'a str,
    pub role: &'a str,
    pub jid: Option<&'a str>,
    /// New nick, for a 303 nick change.
    pub nick: Option<&'a str>,
    pub statuses: &'a [u16],
    pub destroy: Option<Element>,
}

impl UserX<'_> {
    pub fn build(&self) -> Element {
        let mut x = Element::bare("x", ns::MUC_USER);
        let mut item = el("item", ns::MUC_USER, &[("affiliation", self.affiliation), ("role", self.role)]);
        if let Some(j) = self.jid {
            super::set_attr(&mut item, "jid", j);
        }
        if let Some(n) = self.nick {
            super::set_attr(&mut item, "nick", n);
        }
        x.append_child(item);
        for code in self.statuses {
            x.append_child(el("status", ns::MUC_USER, &[("code", &code.to_string())]));
        }
        if let Some(d) = &self.destroy {
            x.append_child(d.clone());
        }
        x
    }
}

/// `<destroy jid=…><reason>…</reason></destroy>` in muc#user.
pub fn destroy(alternate: Option<&str>, reason: Option<&str>) -> Element {
    let mut d = Element::bare("destroy", ns::MUC_USER);
    if let Some(a) = alternate {
        super::set_attr(&mut d, "jid", a);
    }
    if let Some(r) = reason {
        d.append_child(text_el("reason", ns::MUC_USER, r));
    }
    d
}

/// XEP-0421 `<occupant-id/>`.
pub fn occupant_id(id: &str) -> Element {
    el("occupant-id", ns::OCCUPANT_ID, &[("id", id)])
}
