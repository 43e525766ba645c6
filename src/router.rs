//! The router: one exhaustive match from (view, target, stanza kind,
//! payload) to a front-end handler, and from a domain event to both
//! renderers. It decides where a stanza goes; `dispatch` turns what the
//! handler answers into stanzas (and a handler's error into an error stanza).

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::presence::Type as PresenceType;
use xmpp_parsers::stanza::Stanza;

use crate::channel::event::Event;
use crate::error::{Error, Result};
use crate::channel::post::PendingPost;
use crate::outgoing::Out;
use crate::service::{Reply, Service, View};
use crate::xmpp::{content, ns, reply};
use crate::relay::Request;
use crate::{bounce, disco, mix, muc};

/// What a stanza is addressed to within a view.
#[derive(Debug)]
enum Target<'a> {
    /// The service domain itself.
    Service,
    /// `channel@domain`.
    Channel(&'a str),
    /// `channel@domain/resource` (MIX participant or MUC occupant).
    Member(&'a str, &'a str),
    /// A proxy JID on the MIX domain, `<participant-id>#<channel>@mix[/<session>]`:
    /// (channel, participant id, session).
    Proxy(&'a str, &'a str, Option<&'a str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IqKind {
    Get,
    Set,
}

/// What the router found for a stanza: the handler's reply, and the id of
/// the IQ get/set it answers (None for messages and presences, and for
/// stanzas that are not answered at all).
pub(crate) struct Routed {
    pub reply: Reply,
    pub iq_id: Option<String>,
}

impl Routed {
    fn quiet() -> Self {
        Routed { reply: Reply::none(), iq_id: None }
    }
}

impl Service {
    /// Routes one stanza to its handler and returns the handler's reply.
    pub(crate) async fn route(&self, stanza: &Stanza) -> Result<Routed> {
        let (_, _, from, to) = reply::header(stanza);
        let Some(from) = from else {
            return Err(Error::bad_request("stanza without a sender"));
        };
        let to = to.ok_or_else(|| Error::bad_request("stanza without a recipient"))?;
        let view = self.view_of(to.domain().as_str()).ok_or_else(Error::service_unavailable)?;
        let target = match (to.node(), to.resource()) {
            (None, _) => Target::Service,
            (Some(n), r) if view == View::Mix && mix::jids::proxy_parts(n.as_str()).is_some() => {
                let (id, channel) = mix::jids::proxy_parts(n.as_str()).expect("checked");
                Target::Proxy(channel, id, r.map(|r| r.as_str()))
            }
            (Some(n), None) => Target::Channel(n.as_str()),
            (Some(n), Some(r)) => Target::Member(n.as_str(), r.as_str()),
        };
        // A stanza from a session to a channel: it is alive (`crate::sweep`).
        if let Target::Channel(name) | Target::Member(name, _) | Target::Proxy(name, ..) = target {
            self.sweep.heard(name, from).await;
        }
        // XEP-0045 §7.2.1: entering needs a nick (whether or not the room exists).
        if let (View::Muc, Target::Channel(_), Stanza::Presence(p)) = (view, &target, stanza) {
            return match p.type_ {
                PresenceType::None => Err(Error::jid_malformed("enter a room as room@service/nick")),
                _ => Ok(Routed::quiet()),
            };
        }
        // A presence to room/nick may create the room; everything else needs it.
        let may_create = matches!((view, &target, stanza), (View::Muc, Target::Member(..), Stanza::Presence(_)));
        let mut channel = None;
        if let Target::Channel(name) | Target::Member(name, _) | Target::Proxy(name, ..) = target {
            if !may_create {
                channel = Some(self.channels.get(name).await?.ok_or_else(Error::item_not_found)?);
            }
        }
        // The room a message goes to (checked above).
        let room = || channel.clone().ok_or_else(Error::item_not_found);
        let (reply, iq_id) = match stanza {
            Stanza::Iq(Iq::Get { id, payload, .. }) => (self.iq(view, &target, IqKind::Get, &Request { from, to, id, set: false, payload }).await?, Some(id)),
            Stanza::Iq(Iq::Set { id, payload, .. }) => (self.iq(view, &target, IqKind::Set, &Request { from, to, id, set: true, payload }).await?, Some(id)),
            // Answers to requests we relayed (`crate::relay`), then to the
            // idle-session check's pings (`crate::sweep`); the others (to
            // our keepalive pings, or matching nothing) are dropped.
            Stanza::Iq(iq @ (Iq::Result { .. } | Iq::Error { .. })) => {
                let reply = match self.relay.answer(iq).await {
                    Some(a) => Reply { after: vec![a], ..Reply::none() },
                    None => self.idle_answer(iq).await.transpose()?.unwrap_or_default(),
                };
                return Ok(Routed { reply, iq_id: None });
            }
            // Delivery errors for what we sent: sessions that are gone leave.
            Stanza::Message(m) if m.type_ == MessageType::Error => (bounce_to(self, &target, from, &m.payloads).await?, None),
            Stanza::Message(m) => match (view, &target) {
                (View::Mix, Target::Channel(_)) => (mix::message::handle(self, room()?, m).await?, None),
                (View::Muc, Target::Channel(_)) => (muc::message::handle(self, room()?, None, m).await?, None),
                (View::Muc, Target::Member(_, nick)) => (muc::message::handle(self, room()?, Some(nick), m).await?, None),
                (View::Mix, Target::Proxy(_, id, session)) => (mix::private::handle(self, room()?, id, *session, m).await?, None),
                _ => return Err(Error::service_unavailable()),
            },
            Stanza::Presence(p) if p.type_ == PresenceType::Error => (bounce_to(self, &target, from, &p.payloads).await?, None),
            Stanza::Presence(p) => match (view, &target) {
                (View::Muc, Target::Member(name, nick)) => (muc::presence::handle(self, name, nick, p).await?, None),
                (View::Mix, Target::Channel(name)) => (mix::presence::handle(self, name, p).await?, None),
                _ if p.type_ == PresenceType::Unavailable => return Ok(Routed::quiet()),
                _ => return Err(Error::service_unavailable()),
            },
        };
        // A relayed request is answered when its answer comes back.
        let iq_id = iq_id.filter(|_| !reply.relayed).cloned();
        Ok(Routed { reply, iq_id })
    }

    /// Renders a domain event for every audience; a message as fan-outs.
    pub(crate) async fn render(&self, ev: &Event, out: &mut Vec<Out>) -> Result<()> {
        if let Event::Posted(p) = ev {
            out.extend(mix::render::posted(self, p));
            out.extend(muc::render::posted_out(self, p));
            return Ok(());
        }
        // Presences that are the same for many (a newcomer shown to the
        // room, a MIX presence to every participant) become fan-outs.
        out.extend(crate::outgoing::group(mix::render::event(self, ev).await?));
        out.extend(crate::outgoing::group(muc::render::event(self, ev).await?));
        Ok(())
    }

    /// (view, channel, message) of a plain room message, as `route`
    /// would route it to `mix::message` or `muc::message` and on to `post`.
    pub(crate) fn room_message<'s>(&self, stanza: &'s Stanza) -> Option<(View, &'s str, &'s Message)> {
        let Stanza::Message(m) = stanza else { return None };
        if m.type_ != MessageType::Groupchat || m.from.is_none() {
            return None;
        }
        let to = m.to.as_ref()?;
        let view = self.view_of(to.domain().as_str())?;
        if to.resource().is_some() {
            return None;
        }
        let name = to.node()?.as_str();
        match view {
            View::Mix if mix::jids::proxy_parts(name).is_some() => None,
            _ if content::is_subject_change(m) || crate::xmpp::retract::target(m).is_some() => None,
            _ => Some((view, name, m)),
        }
    }

    /// What `route` and the message handler check before `post`, and
    /// `post`'s own checks, for a stanza `room_message` accepted.
    pub(crate) async fn prepare_room_message(&self, stanza: &Stanza) -> Result<PendingPost> {
        let (view, name, m) = self.room_message(stanza).expect("a room message");
        if let Some(from) = &m.from {
            self.sweep.heard(name, from).await;
        }
        let channel = self.channels.get(name).await?.ok_or_else(Error::item_not_found)?;
        match view {
            View::Mix => mix::message::prepare(self, channel, m).await,
            View::Muc => muc::message::prepare(self, channel, m).await,
        }
    }

    /// IQ get/set: returns the handler's reply.
    async fn iq(&self, view: View, target: &Target<'_>, kind: IqKind, req: &Request<'_>) -> Result<Reply> {
        use IqKind::{Get, Set};
        use Target::{Channel, Service};
        let (from, payload) = (req.from, req.payload);
        let node = payload.attr("node");
        match (view, target, kind, payload.ns().as_str(), payload.name()) {
            (_, Service, Get, ns::DISCO_INFO, "query") if crate::adhoc::is_command(node, false) => crate::adhoc::node_info(self, None, from, node.unwrap_or_default()).await,
            (_, Channel(c), Get, ns::DISCO_INFO, "query") if crate::adhoc::is_command(node, true) => crate::adhoc::node_info(self, Some(c), from, node.unwrap_or_default()).await,
            (_, Service, Get, ns::DISCO_ITEMS, "query") if node == Some(ns::COMMANDS) => crate::adhoc::service_items(self, view, from),
            (_, Channel(c), Get, ns::DISCO_ITEMS, "query") if node == Some(ns::COMMANDS) => crate::adhoc::room_items(self, view, c, from).await,
            (_, Service, Set, ns::COMMANDS, "command") => crate::adhoc::service_command(self, view, from, payload).await,
            (_, Channel(c), Set, ns::COMMANDS, "command") => crate::adhoc::room_command(self, view, c, from, payload).await,
            (_, Service, Get, ns::DISCO_INFO, "query") => disco::service_info(self, view, &from.to_bare(), node).map(Reply::payload),
            (_, Service, Get, ns::DISCO_ITEMS, "query") => disco::service_items(self, view, payload).await.map(Reply::payload),
            (View::Muc, Target::Member(room, nick), Get, ns::PING, "ping") if muc::private::is_own_nick(self, room, nick, from).await? => Ok(Reply::none()),
            (View::Muc, Target::Member(room, nick), _, _, _) => muc::private::iq(self, room, nick, req).await,
            (View::Mix, Target::Proxy(channel, id, session), _, _, _) => mix::private::iq(self, channel, id, *session, req).await,
            (_, _, Get, ns::PING, "ping") => Ok(Reply::none()),
            (View::Mix, Channel(c), Get, ns::MIX_CORE, "invite") => mix::invite::request(self, c, from, payload).await,
            (View::Mix, Service, Set, ns::MIX_CORE, "create") => mix::create::handle(self, from, payload).await,
            (View::Mix, Service, Set, ns::MIX_CORE, "destroy") => mix::destroy::handle(self, from, payload).await,
            (View::Mix, Service, Set, ns::MIX_CORE, "register") => mix::register::handle(self, None, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "register") => mix::register::handle(self, Some(c), from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "join") => mix::join::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "leave") => mix::leave::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "setnick") => mix::setnick::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Get, ns::MIX_ANON, "user-preference") => mix::preferences::get(self, c, from).await,
            (View::Mix, Channel(c), Set, ns::MIX_ANON, "user-preference") => mix::preferences::set(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "update-subscription") => mix::subscription::handle(self, c, from, payload).await,
            (_, Channel(_), Get, ns::MAM, "query") => Ok(crate::mam::form()),
            (_, Channel(c), Set, _, _) if crate::xmpp::retract::is_moderate(payload) => crate::moderate::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MAM, "query") => mix::mam::query(self, c, from, payload).await,
            (View::Mix, Channel(c), Get, ns::DISCO_INFO, "query") => mix::disco::info(self, c, node).await,
            (View::Mix, Channel(c), Get, ns::DISCO_ITEMS, "query") => mix::disco::items(self, c, node).await,
            (View::Mix, Channel(c), Get, ns::PUBSUB, "pubsub") => mix::pubsub::items(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::PUBSUB, "pubsub") => mix::admin::set(self, c, from, payload).await,
            (View::Muc, Channel(c), Get, ns::DISCO_INFO, "query") if node == Some(muc::register::RESERVED_NODE) => muc::register::reserved_nick_info(self, c, from).await,
            (View::Muc, Channel(c), Get, ns::DISCO_INFO, "query") => muc::disco::info(self, c, node).await,
            (View::Muc, Channel(c), Get, ns::VCARD_TEMP, "vCard") => muc::avatar::get(self, c, from).await,
            (View::Muc, Channel(c), Set, ns::VCARD_TEMP, "vCard") => muc::avatar::set(self, c, from, payload).await,
            (View::Muc, Channel(c), Get, ns::REGISTER, "query") => muc::register::get(self, c, from).await,
            (View::Muc, Channel(c), Set, ns::REGISTER, "query") => muc::register::set(self, c, from, payload).await,
            (View::Muc, Channel(_), Get, ns::DISCO_ITEMS, "query") => muc::disco::items(node),
            (View::Muc, Channel(c), Set, ns::MAM, "query") => muc::mam::query(self, c, from, payload).await,
            (View::Muc, Channel(c), Get, ns::MUC_ADMIN, "query") => muc::admin::get(self, c, from, payload).await,
            (View::Muc, Channel(c), Set, ns::MUC_ADMIN, "query") => muc::admin::set(self, c, from, payload).await,
            (View::Muc, Channel(c), Get, ns::MUC_OWNER, "query") => muc::owner::get(self, c, from).await,
            (View::Muc, Channel(c), Set, ns::MUC_OWNER, "query") => muc::owner::set(self, c, from, payload).await,
            _ => Err(Error::service_unavailable()),
        }
    }
}

/// An error stanza to something of a channel (`crate::bounce`); to the
/// service domain itself: dropped.
async fn bounce_to(svc: &Service, target: &Target<'_>, from: &Jid, payloads: &[Element]) -> Result<Reply> {
    match target {
        Target::Channel(name) | Target::Member(name, _) | Target::Proxy(name, ..) => bounce::handle(svc, name, from, payloads).await,
        Target::Service => Ok(Reply::none()),
    }
}
