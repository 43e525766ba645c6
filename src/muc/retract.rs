//! Retraction in the MUC view: a groupchat carrying XEP-0424's
//! `<retract/>` takes back the sender's own message; the XEP-0425 IQ
//! (`crate::moderate`, shared with the MIX view) removes anyone's. Both
//! become `Channels::retract`; here is how the room shows the outcome:
//! the announcement to every occupant (from `room/nick` for a sender's
//! retraction, from the room for a moderator's, in the current and the
//! older form, with a fallback body), and the tombstone in MAM.

use std::sync::Arc;

use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns::JABBER_CLIENT;
use xmpp_parsers::stanza::Stanza;

use super::occupant_jid;
use crate::channel::event::Retracted;
use crate::channel::retract::{RetractAs, RetractRequest};
use crate::error::{Error, Result};
use crate::service::{Reply, Service, View};
use crate::store::{ArchiveRow, ChannelRow, Tombstone};
use crate::xmpp::muc::occupant_id;
use crate::xmpp::retract::{announcement, tombstone, Moderation};
use crate::xmpp::{content, mam, set_attr};

/// A groupchat retracting the sender's own message (XEP-0424): from a
/// session in the room.
pub async fn handle(svc: &Service, channel: Arc<ChannelRow>, m: &Message, target: &str) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    if !svc.channels.occupants(&channel.name).await?.iter().any(|o| o.full_jid.as_str() == from.as_str()) {
        return Err(Error::not_in_room());
    }
    let req = RetractRequest { target: target.to_string(), capacity: RetractAs::Sender, reason: None, submission_id: m.id.as_ref().map(|i| i.0.clone()) };
    let event = svc.channels.retract(&channel.name, &from.to_bare(), req).await?;
    Ok(Reply::events(None, vec![event]))
}

/// A retraction as the room shows it (live and in MAM), in `jabber:client`:
/// a sender's from its `room/nick` with its occupant id, a moderator's
/// from the room.
pub fn archived(svc: &Service, channel: &ChannelRow, row: &ArchiveRow) -> Option<Element> {
    let target = row.retracts.as_deref()?;
    let room = svc.channel_jid(View::Muc, &channel.name);
    let mut m = Element::bare("message", JABBER_CLIENT);
    set_attr(&mut m, "type", "groupchat");
    let children = if row.moderated {
        set_attr(&mut m, "from", room.to_string());
        set_attr(&mut m, "id", row.id.as_str());
        let by = moderator(svc, channel, &row.nick);
        let pid = (!row.participant_id.is_empty()).then_some(row.participant_id.as_str());
        announcement(target, Some(&Moderation { by: &by, occupant_id: pid, reason: row.reason.as_deref() }), Some(JABBER_CLIENT))
    } else {
        set_attr(&mut m, "from", occupant_jid(svc, &channel.name, &row.nick)?.to_string());
        set_attr(&mut m, "id", row.submission_id.clone().unwrap_or_else(|| row.id.clone()));
        announcement(target, None, Some(JABBER_CLIENT))
    };
    for c in children {
        m.append_child(c);
    }
    m.append_child(svc.stanza_id(View::Muc, &channel.name, &row.id));
    if !row.moderated {
        m.append_child(occupant_id(&row.participant_id));
    }
    Some(m)
}

/// What a retracted message shows in the room's archive (its author's
/// address and occupant id stay): the tombstone, with its moderator.
pub fn tombstone_children(svc: &Service, channel: &ChannelRow, row: &ArchiveRow, t: &Tombstone) -> Vec<Element> {
    let stamp = mam::stamp(t.at);
    if !row.moderated {
        return tombstone(&stamp, &t.retraction_id, None);
    }
    let by = moderator(svc, channel, &t.by_nick);
    let pid = (!t.by_pid.is_empty()).then_some(t.by_pid.as_str());
    tombstone(&stamp, &t.retraction_id, Some(&Moderation { by: &by, occupant_id: pid, reason: row.reason.as_deref() }))
}

/// A moderator as the room names it: `room/nick`, or the room when it has
/// no nick (a service administrator who is not in the channel).
fn moderator(svc: &Service, channel: &ChannelRow, nick: &str) -> String {
    match occupant_jid(svc, &channel.name, nick).filter(|_| !nick.is_empty()) {
        Some(j) => j.to_string(),
        None => svc.channel_jid(View::Muc, &channel.name).to_string(),
    }
}

/// The announcement to every session in the room.
pub fn render(svc: &Service, r: &Retracted) -> Vec<Stanza> {
    let Some(template) = archived(svc, &r.channel, &r.row).and_then(|e| content::to_message(e, &r.row.id)) else { return vec![] };
    r.occupants
        .iter()
        .filter_map(|o| {
            let mut m = template.clone();
            m.to = Some(o.full_jid.clone());
            m.type_ = MessageType::Groupchat;
            Some(Stanza::Message(m))
        })
        .collect()
}
