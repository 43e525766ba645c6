//! XEP-0369 MIX core payloads (namespace `urn:xmpp:mix:core:1`), which
//! xmpp-parsers 0.23 no longer has.

use xmpp_parsers::data_forms::DataForm;
use xso::{AsXml, FromXml};

use super::ns;

/// `<create/>`: create a channel (XEP-0369 "Creating a Channel"); without a
/// name the service picks one (ad-hoc channel). The result echoes the name.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "create", on_unknown_child = Fail)]
pub struct Create {
    #[xml(attribute(default))]
    pub channel: Option<String>,
    /// An initial configuration form; accepted and not applied yet.
    #[xml(child(default))]
    pub form: Option<DataForm>,
}

/// `<subscribe node='…'/>` in a join or update-subscription.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "subscribe")]
pub struct Subscribe {
    #[xml(attribute)]
    pub node: String,
}

/// `<unsubscribe node='…'/>` in an update-subscription.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "unsubscribe")]
pub struct Unsubscribe {
    #[xml(attribute)]
    pub node: String,
}

/// `<join/>`: from the participant's server (or a client) to the channel;
/// the result carries the participant id (`id`, current XEP-0369) and the
/// proxy JID (`jid`, the 0.9.6 seed), the nodes subscribed and the nick.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "join", on_unknown_child = Fail)]
pub struct Join {
    #[xml(attribute(default))]
    pub id: Option<String>,
    #[xml(attribute(default))]
    pub jid: Option<String>,
    /// Present when a client sends the join to its own server (XEP-0405).
    #[xml(attribute(default))]
    pub channel: Option<String>,
    #[xml(child(n = ..))]
    pub subscribe: Vec<Subscribe>,
    #[xml(extract(default, fields(text(type_ = String))))]
    pub nick: Option<String>,
    /// An invitation the invitee joins with (XEP-0369 seed).
    #[xml(child(default))]
    pub invitation: Option<Invitation>,
    /// User preferences (XEP-0404): asked for in the request, all of them
    /// in the result.
    #[xml(child(default))]
    pub form: Option<xmpp_parsers::data_forms::DataForm>,
}

/// `<invitation/>` (XEP-0369 seed, "Inviting another User to join a
/// Channel"): made by the channel for an inviter, sent by the inviter to the
/// invitee, given back by the invitee in its `<join/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "invitation")]
pub struct Invitation {
    #[xml(extract(fields(text(type_ = String))))]
    pub inviter: String,
    #[xml(extract(fields(text(type_ = String))))]
    pub invitee: String,
    #[xml(extract(fields(text(type_ = String))))]
    pub channel: String,
    #[xml(extract(fields(text(type_ = String))))]
    pub token: String,
}

/// `<invite/>` to a channel: the request names the invitee; the result
/// carries the invitation.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "invite", on_unknown_child = Fail)]
pub struct Invite {
    #[xml(extract(default, fields(text(type_ = String))))]
    pub invitee: Option<String>,
    #[xml(child(default))]
    pub invitation: Option<Invitation>,
}

/// `<leave/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "leave", on_unknown_child = Fail)]
pub struct Leave {
    #[xml(attribute(default))]
    pub channel: Option<String>,
}

/// `<setnick><nick/></setnick>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "setnick", on_unknown_child = Fail)]
pub struct SetNick {
    #[xml(extract(default, fields(text(type_ = String))))]
    pub nick: Option<String>,
}

/// `<update-subscription/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "update-subscription", on_unknown_child = Fail)]
pub struct UpdateSubscription {
    #[xml(attribute(default))]
    pub jid: Option<String>,
    #[xml(child(n = ..))]
    pub subscribe: Vec<Subscribe>,
    #[xml(child(n = ..))]
    pub unsubscribe: Vec<Unsubscribe>,
}

/// `<destroy channel='…'/>` to the service.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "destroy", on_unknown_child = Fail)]
pub struct Destroy {
    #[xml(attribute)]
    pub channel: String,
}

/// The participants node item payload.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "participant")]
pub struct Participant {
    #[xml(extract(default, fields(text(type_ = String))))]
    pub jid: Option<String>,
    #[xml(extract(default, fields(text(type_ = String))))]
    pub nick: Option<String>,
}

/// `<mix/>` on a reflected message: who sent it.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "mix")]
pub struct Mix {
    #[xml(extract(default, fields(text(type_ = String))))]
    pub nick: Option<String>,
    #[xml(extract(default, fields(text(type_ = String))))]
    pub jid: Option<String>,
    #[xml(extract(default, name = "submission-id", fields(text(type_ = String))))]
    pub submission_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::minidom::Element;

    #[test]
    fn create_parses_and_serialises() {
        let e: Element = "<create xmlns='urn:xmpp:mix:core:1' channel='coven'/>".parse().unwrap();
        let c = Create::try_from(e.clone()).unwrap();
        assert_eq!(c.channel.as_deref(), Some("coven"));
        assert_eq!(Element::from(c), e);
        let adhoc: Element = "<create xmlns='urn:xmpp:mix:core:1'/>".parse().unwrap();
        assert_eq!(Create::try_from(adhoc).unwrap().channel, None);
    }

    #[test]
    fn join_parses_in_either_child_order() {
        for xml in [
            "<join xmlns='urn:xmpp:mix:core:1'><nick>third witch</nick><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:info'/></join>",
            "<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>third witch</nick></join>",
        ] {
            let j = Join::try_from(xml.parse::<Element>().unwrap()).unwrap();
            assert_eq!(j.nick.as_deref(), Some("third witch"));
            assert_eq!(j.subscribe.len(), 2);
        }
    }

    #[test]
    fn join_result_serialises_id_and_jid() {
        let j = Join { id: Some("123456".into()), jid: Some("123456#coven@mix.shakespeare.example".into()), channel: None, subscribe: vec![Subscribe { node: "urn:xmpp:mix:nodes:messages".into() }], nick: Some("third witch".into()), invitation: None, form: None };
        let expected: Element = "<join xmlns='urn:xmpp:mix:core:1' id='123456' jid='123456#coven@mix.shakespeare.example'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>third witch</nick></join>".parse().unwrap();
        assert_eq!(Element::from(j), expected);
    }

    #[test]
    fn subscribe_without_node_is_an_error() {
        let e: Element = "<join xmlns='urn:xmpp:mix:core:1'><subscribe/></join>".parse().unwrap();
        assert!(Join::try_from(e).is_err());
    }

    #[test]
    fn create_with_unknown_child_is_an_error() {
        let e: Element = "<create xmlns='urn:xmpp:mix:core:1' channel='c'><foo xmlns='urn:x'/></create>".parse().unwrap();
        assert!(Create::try_from(e).is_err());
    }
}
