//! The router: one exhaustive match from (view, target, stanza kind,
//! payload) to a handler, and the one place where a handler's error becomes
//! an error stanza.

use tracing::Instrument;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::message::MessageType;
use xmpp_parsers::presence::Type as PresenceType;
use xmpp_parsers::stanza::Stanza;

use crate::channel::event::Event;
use crate::error::{Error, Result};
use crate::outgoing::Out;
use crate::service::{Service, View};
use crate::xmpp::{ns, reply};
use crate::{disco, mix, muc};

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

/// What a handler answers: an IQ result payload (for IQs), stanzas to send
/// before it (MAM results), and domain events to render after it.
#[derive(Debug, Default)]
pub struct Reply {
    pub payload: Option<Element>,
    pub before: Vec<Stanza>,
    pub events: Vec<Event>,
    /// Stanzas to send after the rendered events (MUC history on entering).
    pub after: Vec<Stanza>,
}

impl Reply {
    pub fn none() -> Self {
        Reply::default()
    }
    pub fn payload(p: Element) -> Self {
        Reply { payload: Some(p), ..Default::default() }
    }
    pub fn events(payload: Option<Element>, events: Vec<Event>) -> Self {
        Reply { payload, events, ..Default::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IqKind {
    Get,
    Set,
}

impl Service {
    /// Handles one incoming stanza; returns every stanza to send in answer.
    pub async fn handle(&self, stanza: Stanza) -> Vec<Stanza> {
        crate::outgoing::expand(self.handle_out(stanza).await)
    }

    /// Handles one incoming stanza; returns what to send in answer, room
    /// messages as fan-outs (what the links take).
    pub async fn handle_out(&self, stanza: Stanza) -> Vec<Out> {
        async {
            match self.dispatch(&stanza).await {
                Ok(out) => out,
                Err(err) => refusal(&stanza, &err),
            }
        }
        .instrument(stanza_span(&stanza))
        .await
    }

    async fn dispatch(&self, stanza: &Stanza) -> Result<Vec<Out>> {
        let (_, _, from, to) = header(stanza);
        let Some(from) = from else {
            return Err(Error::bad_request("stanza without a sender"));
        };
        let to = to.ok_or_else(|| Error::bad_request("stanza without a recipient"))?;
        let view = self.view_of(to.domain().as_str()).ok_or_else(Error::service_unavailable)?;
        let target = match (to.node(), to.resource()) {
            (None, _) => Target::Service,
            (Some(n), r) if view == View::Mix && mix::private::proxy_parts(n.as_str()).is_some() => {
                let (id, channel) = mix::private::proxy_parts(n.as_str()).expect("checked");
                Target::Proxy(channel, id, r.map(|r| r.as_str()))
            }
            (Some(n), None) => Target::Channel(n.as_str()),
            (Some(n), Some(r)) => Target::Member(n.as_str(), r.as_str()),
        };
        // XEP-0045 §7.2.1: entering needs a nick (whether or not the room exists).
        if let (View::Muc, Target::Channel(_), Stanza::Presence(p)) = (view, &target, stanza) {
            return match p.type_ {
                PresenceType::None => Err(Error::jid_malformed("enter a room as room@service/nick")),
                _ => Ok(vec![]),
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
            Stanza::Iq(Iq::Get { id, payload, .. }) => (self.iq(view, &target, IqKind::Get, from, payload).await?, Some(id)),
            Stanza::Iq(Iq::Set { id, payload, .. }) => (self.iq(view, &target, IqKind::Set, from, payload).await?, Some(id)),
            // Answers to our keepalive pings and anything else we asked.
            Stanza::Iq(Iq::Result { .. }) | Stanza::Iq(Iq::Error { .. }) => return Ok(vec![]),
            Stanza::Message(m) if m.type_ == MessageType::Error => return Ok(vec![]),
            Stanza::Message(m) => match (view, &target) {
                (View::Mix, Target::Channel(_)) => (mix::message::handle(self, room()?, m).await?, None),
                (View::Muc, Target::Channel(_)) => (muc::message::handle(self, room()?, None, m).await?, None),
                (View::Muc, Target::Member(_, nick)) => (muc::message::handle(self, room()?, Some(nick), m).await?, None),
                (View::Mix, Target::Proxy(name, id, session)) => (mix::private::handle(self, name, id, *session, m).await?, None),
                _ => return Err(Error::service_unavailable()),
            },
            Stanza::Presence(p) if p.type_ == PresenceType::Error => return Ok(vec![]),
            Stanza::Presence(p) => match (view, &target) {
                (View::Muc, Target::Member(name, nick)) => (muc::presence::handle(self, name, nick, p).await?, None),
                (View::Mix, Target::Channel(name)) => (mix::presence::handle(self, name, p).await?, None),
                _ if p.type_ == PresenceType::Unavailable => return Ok(vec![]),
                _ => return Err(Error::service_unavailable()),
            },
        };
        // Sized once: an event is mostly two items (a fan-out per view).
        let mut out: Vec<Out> = Vec::with_capacity(reply.before.len() + 1 + 2 * reply.events.len() + reply.after.len());
        out.extend(reply.before.into_iter().map(Out::from));
        if let Some(id) = iq_id {
            out.push(reply::iq_result(&Some(from.clone()), &Some(to.clone()), id, reply.payload).into());
        }
        for ev in &reply.events {
            self.render(ev, &mut out).await?;
        }
        out.extend(reply.after.into_iter().map(Out::from));
        Ok(out)
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

    /// IQ get/set: returns the handler's reply.
    async fn iq(&self, view: View, target: &Target<'_>, kind: IqKind, from: &Jid, payload: &Element) -> Result<Reply> {
        use IqKind::{Get, Set};
        use Target::{Channel, Service};
        let node = payload.attr("node");
        match (view, target, kind, payload.ns().as_str(), payload.name()) {
            (_, Service, Get, ns::DISCO_INFO, "query") => disco::service_info(self, view, &from.to_bare(), node).map(Reply::payload),
            (_, Service, Get, ns::DISCO_ITEMS, "query") => disco::service_items(self, view, node).await.map(Reply::payload),
            (View::Muc, Target::Member(room, _), Get, ns::PING, "ping") => muc_self_ping(self, room, from).await,
            (View::Muc, Target::Member(room, _), Get, ns::DISCO_INFO | ns::DISCO_ITEMS, "query") => muc_occupant_disco(self, room, from).await,
            (_, _, Get, ns::PING, "ping") => Ok(Reply::none()),
            (View::Muc, Target::Member(room, nick), _, _, _) => muc::private::iq(self, room, nick, from).await,
            (View::Mix, Target::Proxy(..), _, _, _) => mix::private::iq(),
            (View::Mix, Channel(c), Get, ns::MIX_CORE, "invite") => mix::invite::request(self, c, from, payload).await,
            (View::Mix, Service, Set, ns::MIX_CORE, "create") => mix::create::handle(self, from, payload).await,
            (View::Mix, Service, Set, ns::MIX_CORE, "destroy") => mix::destroy::handle(self, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "join") => mix::join::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "leave") => mix::leave::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "setnick") => mix::setnick::handle(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::MIX_CORE, "update-subscription") => mix::subscription::handle(self, c, from, payload).await,
            (_, Channel(_), Get, ns::MAM, "query") => Ok(crate::mam::form()),
            (View::Mix, Channel(c), Set, ns::MAM, "query") => mix::mam::query(self, c, from, payload).await,
            (View::Mix, Channel(c), Get, ns::DISCO_INFO, "query") => mix::disco::info(self, c, node).await,
            (View::Mix, Channel(c), Get, ns::DISCO_ITEMS, "query") => mix::disco::items(self, c, node).await,
            (View::Mix, Channel(c), Get, ns::PUBSUB, "pubsub") => mix::pubsub::items(self, c, from, payload).await,
            (View::Mix, Channel(c), Set, ns::PUBSUB, "pubsub") => mix::admin::set(self, c, from, payload).await,
            (View::Muc, Channel(c), Get, ns::DISCO_INFO, "query") => muc::disco::info(self, c, node).await,
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

/// XEP-0410 self-ping: answered for a session in the room, refused otherwise.
async fn muc_self_ping(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    match svc.channels.occupant(room, &from.to_string()).await? {
        Some(_) => Ok(Reply::none()),
        None => Err(Error::not_acceptable_cancel("you are not in this room")),
    }
}

/// disco to `room/nick` (XEP-0045 §6.6): `bad-request` for a non-occupant;
/// occupants' disco is not passed through to the occupant.
async fn muc_occupant_disco(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    match svc.channels.occupant(room, &from.to_string()).await? {
        Some(_) => Err(Error::service_unavailable()),
        None => Err(Error::bad_request("only occupants may query an occupant")),
    }
}

/// The tracing span of one stanza: its kind, id, from and to.
pub(crate) fn stanza_span(stanza: &Stanza) -> tracing::Span {
    let (kind, id, from, to) = header(stanza);
    tracing::info_span!("stanza", kind, id = id.unwrap_or(""), from = from.map(|j| j.to_string()).unwrap_or_default(), to = to.map(|j| j.to_string()).unwrap_or_default())
}

/// What a refused stanza is answered (its error reply), logged.
pub(crate) fn refusal(stanza: &Stanza, err: &Error) -> Vec<Out> {
    match err {
        Error::Internal(ctx) => tracing::error!(error = %ctx, "request failed"),
        e => tracing::debug!(error = %e, "request refused"),
    }
    reply::error_reply(stanza, err).into_iter().map(Out::from).collect()
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
