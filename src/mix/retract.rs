//! Retraction in the MIX view (XEP-0369 seed, "Retracting a Message"): a
//! message to the channel with `<retract id/>` (the MIX one, or XEP-0424's)
//! takes back the sender's own message, or, from one with the channel's
//! 'Administrator Message Retraction Rights', anyone's. It becomes
//! `Channels::retract`; here is how MIX participants see the outcome: the
//! retraction distributed like a message (from the retracting
//! participant, with the MIX `<retract/>` and XEP-0424/0425's), and in MAM
//! the tombstone `<retracted by time/>` (by the participant's address in
//! the channel, never a real JID), with XEP-0424's beside it.

use std::sync::Arc;

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns::JABBER_CLIENT;
use xmpp_parsers::stanza::Stanza;

use super::jids::participant_jid;
use crate::channel::membership::NODE_MESSAGES;
use crate::channel::event::Retracted;
use crate::channel::retract::{RetractAs, RetractRequest};
use crate::error::{Error, Result};
use crate::service::{Reply, Service, View};
use crate::store::{ArchiveRow, Tombstone};
use crate::xmpp::mix::Mix;
use crate::xmpp::retract::{announcement, mix_retract, mix_retracted, tombstone, Moderation};
use crate::xmpp::{content, mam, set_attr};

/// A message retracting one of the channel's: the sender's own, or as an
/// administrator anyone's.
pub async fn handle(svc: &Service, channel: &str, m: &Message, target: &str) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    let req = RetractRequest { target: target.to_string(), capacity: RetractAs::Either, reason: None, submission_id: m.id.as_ref().map(|i| i.0.clone()) };
    let event = svc.channels.retract(channel, &from.to_bare(), req).await?;
    Ok(Reply::events(None, vec![event]))
}

/// A participant's address in the channel (`channel@mix/<participant-id>`),
/// or the channel's when there is none (a service administrator who is
/// not a participant).
fn address(svc: &Service, channel: &str, participant_id: &str) -> String {
    match participant_id {
        "" => svc.channel_jid(View::Mix, channel).to_string(),
        pid => participant_jid(svc, channel, pid).to_string(),
    }
}

/// A retraction as MIX shows it (live and in MAM), in `jabber:client`.
pub fn archived(svc: &Service, row: &ArchiveRow) -> Option<Element> {
    let target = row.retracts.as_deref()?;
    let by = address(svc, &row.channel, &row.participant_id);
    let mut m = Element::bare("message", JABBER_CLIENT);
    set_attr(&mut m, "type", "groupchat");
    set_attr(&mut m, "from", by.as_str());
    set_attr(&mut m, "id", row.id.as_str());
    m.append_child(mix_retract(target));
    let pid = (!row.participant_id.is_empty()).then_some(row.participant_id.as_str());
    let moderation = row.moderated.then(|| Moderation { by: &by, occupant_id: pid, reason: row.reason.as_deref() });
    for c in announcement(target, moderation.as_ref(), None) {
        m.append_child(c);
    }
    if !row.nick.is_empty() {
        m.append_child(Mix { nick: Some(row.nick.clone()), jid: row.jid_visible.then(|| row.sender_jid.clone()), submission_id: None }.into());
    }
    m.append_child(svc.stanza_id(View::Mix, &row.channel, &row.id));
    Some(m)
}

/// What a retracted message shows in MAM: the seed's tombstone and
/// XEP-0424's (with XEP-0425's moderator).
pub fn tombstone_children(svc: &Service, row: &ArchiveRow, t: &Tombstone) -> Vec<Element> {
    let stamp = mam::stamp(t.at);
    let by = address(svc, &row.channel, &t.by_pid);
    let pid = (!t.by_pid.is_empty()).then_some(t.by_pid.as_str());
    let moderation = row.moderated.then(|| Moderation { by: &by, occupant_id: pid, reason: row.reason.as_deref() });
    let mut out = vec![mix_retracted(&by, &stamp)];
    out.extend(tombstone(&stamp, &t.retraction_id, moderation.as_ref()));
    out
}

/// The retraction to every participant subscribed to the messages node
/// (the retracting one gets its own id back in `<mix/>`).
pub fn render(svc: &Service, r: &Arc<Retracted>) -> Vec<Stanza> {
    let Some(template) = archived(svc, &r.row).and_then(|e| content::to_message(e, &r.row.id)) else { return vec![] };
    r.participants
        .iter()
        .filter(|p| p.subscribed(NODE_MESSAGES))
        .filter_map(|p| {
            let mut m = template.clone();
            m.to = Some(Jid::from(BareJid::new(&p.jid).ok()?));
            m.type_ = MessageType::Groupchat;
            if p.jid == r.row.sender_jid {
                if let Some(mix) = m.payloads.iter_mut().find(|e| e.is("mix", crate::xmpp::ns::MIX_CORE)) {
                    *mix = Mix { nick: Some(r.row.nick.clone()), jid: r.row.jid_visible.then(|| r.row.sender_jid.clone()), submission_id: r.row.submission_id.clone() }.into();
                }
            }
            Some(Stanza::Message(m))
        })
        .collect()
}
