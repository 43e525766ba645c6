//! Presence to `room/nick` (XEP-0045): entering (creating the room when it
//! does not exist and the user may create channels), changing nick,
//! leaving.

use xmpp_parsers::jid::FullJid;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use crate::channel::access::EntryRefusal;
use crate::channel::event::Event;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;

pub async fn handle(svc: &Service, room: &str, nick: &str, p: &Presence) -> Result<Reply> {
    let from = p.from.as_ref().ok_or_else(|| Error::bad_request("presence without a sender"))?;
    let full: FullJid = from.clone().try_into_full().map_err(|_| Error::jid_malformed("presence to a room must come from a full JID"))?;
    match p.type_ {
        PresenceType::Unavailable => {
            let Reply { payload, mut events, .. } = super::presence_update::leave(svc, room, &full, p).await?;
            events.extend(super::owner::after_exit(svc, room, &full).await?);
            Ok(Reply::events(payload, events))
        }
        PresenceType::None => available(svc, room, nick, &full, p).await,
        // Subscriptions, probes and errors are not addressed to rooms.
        _ => Ok(Reply::none()),
    }
}

async fn available(svc: &Service, room: &str, nick: &str, full: &FullJid, p: &Presence) -> Result<Reply> {
    let bare = full.to_bare();
    let mut created = false;
    if svc.channels.get(room).await?.is_none() {
        // Only a MUC client's entry creates a room: a plain presence (a
        // roster push, a directed presence) to a missing room does not.
        if !p.payloads.iter().any(|e| e.is("x", crate::xmpp::ns::MUC)) {
            return Err(Error::item_not_found().with_text("no such room; a MUC client's entry (with <x xmlns='http://jabber.org/protocol/muc'/>) creates one"));
        }
        svc.channels.create(Some(room), &bare).await.map_err(|e| match e {
            Error::Stanza(r) if matches!(r.condition, xmpp_parsers::stanza_error::DefinedCondition::Forbidden) => {
                Error::not_allowed("you may not create rooms on this service")
            }
            other => other,
        })?;
        created = true;
        // XEP-0045 §10.1.1: locked until configured.
        svc.channels.lock(room).await?;
    }
    if svc.channels.occupant(room, &full.to_string()).await?.is_some() {
        let (wanted, _) = crate::channel::nick::normalise(nick).map_err(|_| Error::jid_malformed("that nick is not allowed"))?;
        let me = svc.channels.require_participant(room, &bare).await?;
        // A join from a session already in: a full resynchronisation (§7.2.1, §17.3).
        if me.nick.as_deref() == Some(wanted.as_str()) && p.payloads.iter().any(|x| x.is("x", crate::xmpp::ns::MUC)) {
            let channel = svc.channels.require(room).await?;
            let renamed = wanted != nick;
            let before = super::presence_update::before_entering(svc, room, full).await?;
            super::presence_update::record(svc, room, full, p).await?;
            let mut events = vec![Event::Entered { channel, participant: me, full_jid: full.to_string(), first_session: false, created: false, renamed }];
            events.extend(super::presence_update::entered(svc, room, full, before).await?);
            let after = super::history::on_enter(svc, room, &full.to_string(), p).await?;
            return Ok(Reply { events, after, ..Default::default() });
        }
        // Already in: a nick change (303), or a presence update.
        if svc.channels.is_current_nick(room, &bare, nick).await? {
            return super::presence_update::update(svc, room, full, p).await;
        }
        let (_, events) = svc.channels.set_nick(room, &bare, nick).await?;
        super::presence_update::record(svc, room, full, p).await?;
        return Ok(Reply::events(None, events));
    }
    if let Some(refusal) = svc.channels.entry_refusal(room, &bare).await? {
        return Err(entry_error(refusal));
    }
    let before = super::presence_update::before_entering(svc, room, full).await?;
    let mut events = svc.channels.enter(room, full, nick, created).await?;
    super::presence_update::record(svc, room, full, p).await?;
    events.extend(super::presence_update::entered(svc, room, full, before).await?);
    let after = super::history::on_enter(svc, room, &full.to_string(), p).await?;
    Ok(Reply { events, after, ..Default::default() })
}

/// How the room says why the user may not enter (XEP-0045 §7.2.5–§7.2.9).
fn entry_error(refusal: EntryRefusal) -> Error {
    match refusal {
        EntryRefusal::Locked => Error::item_not_found().with_text("this room is locked until its owner configures it"),
        EntryRefusal::MembersOnly => Error::new(ErrorType::Auth, DefinedCondition::RegistrationRequired, Some("this room is members-only".to_string())),
        EntryRefusal::Full => Error::new(ErrorType::Wait, DefinedCondition::ServiceUnavailable, Some("this room is full".to_string())),
    }
}
