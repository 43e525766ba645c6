//! XEP-0045 `muc#admin` payloads (affiliation and role lists, §8-9), and
//! the `muc#user` item the service sends when an admin or moderator acted
//! (with `<actor/>` and `<reason/>`).

use xmpp_parsers::minidom::Element;
use xso::{AsXml, FromXml};

use super::{el, ns, text_el};

/// `<query xmlns='…muc#admin'>` with the items of a get or a set.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Default)]
#[xml(namespace = ns::MUC_ADMIN, name = "query")]
pub struct AdminQuery {
    #[xml(child(n = ..))]
    pub items: Vec<AdminItem>,
}

/// One `<item/>`: by affiliation (with `jid`) or by role (with `nick`);
/// in a result, the JID, nick, affiliation and role of a listed user.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Default)]
#[xml(namespace = ns::MUC_ADMIN, name = "item")]
pub struct AdminItem {
    #[xml(attribute(default))]
    pub affiliation: Option<String>,
    #[xml(attribute(default))]
    pub jid: Option<String>,
    #[xml(attribute(default))]
    pub nick: Option<String>,
    #[xml(attribute(default))]
    pub role: Option<String>,
    #[xml(extract(default, fields(text(type_ = String))))]
    pub reason: Option<String>,
}

/// Who acted, as shown in `<actor/>`: the room nick when the actor has one,
/// else its bare JID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorRef<'a> {
    Nick(&'a str),
    Jid(&'a str),
}

/// `<x xmlns='…muc#user'><item affiliation role [jid]><actor/><reason/></item><status/>…</x>`.
pub fn user_x(affiliation: &str, role: &str, jid: Option<&str>, actor: Option<ActorRef<'_>>, reason: Option<&str>, statuses: &[u16]) -> Element {
    let mut x = Element::bare("x", ns::MUC_USER);
    let mut item = el("item", ns::MUC_USER, &[("affiliation", affiliation), ("role", role)]);
    if let Some(j) = jid {
        super::set_attr(&mut item, "jid", j);
    }
    match actor {
        Some(ActorRef::Nick(n)) => {
            item.append_child(el("actor", ns::MUC_USER, &[("nick", n)]));
        }
        Some(ActorRef::Jid(j)) => {
            item.append_child(el("actor", ns::MUC_USER, &[("jid", j)]));
        }
        None => {}
    }
    if let Some(r) = reason {
        item.append_child(text_el("reason", ns::MUC_USER, r));
    }
    x.append_child(item);
    for code in statuses {
        x.append_child(el("status", ns::MUC_USER, &[("code", &code.to_string())]));
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_set_with_reason() {
        let e: Element = "<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item><item nick='pistol' role='none'/></query>".parse().unwrap();
        let q = AdminQuery::try_from(e).unwrap();
        assert_eq!(q.items.len(), 2);
        assert_eq!(q.items[0].affiliation.as_deref(), Some("outcast"));
        assert_eq!(q.items[0].jid.as_deref(), Some("earlofcambridge@shakespeare.lit"));
        assert_eq!(q.items[0].reason.as_deref(), Some("Treason"));
        assert_eq!((q.items[1].nick.as_deref(), q.items[1].role.as_deref()), (Some("pistol"), Some("none")));
    }

    #[test]
    fn serialises_a_result_item() {
        let q = AdminQuery { items: vec![AdminItem { affiliation: Some("member".into()), jid: Some("hag66@shakespeare.lit".into()), nick: Some("thirdwitch".into()), ..Default::default() }] };
        let e: Element = q.into();
        assert_eq!(String::from(&e), "<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='hag66@shakespeare.lit' nick='thirdwitch'/></query>");
    }

    #[test]
    fn refuses_a_query_of_another_namespace() {
        let e: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'><item jid='a@b' affiliation='member'/></query>".parse().unwrap();
        assert!(AdminQuery::try_from(e).is_err());
    }
}
