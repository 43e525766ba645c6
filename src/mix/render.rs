//! Events → MIX stanzas, to participants' bare JIDs. Per-message work is
//! done once; per recipient only the address (and, for the sender, the
//! submission id) changes.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::event::{Event, Posted, PrivateMessage};
use crate::channel::ids;
use crate::channel::visibility::shows_jid;
use crate::channel::membership::{NODE_AVATAR_METADATA, NODE_INFO, NODE_MESSAGES, NODE_PARTICIPANTS};
use crate::error::Result;
use crate::outgoing::{FanOut, Out};
use crate::service::{Service, View};
use crate::store::{ArchiveRow, ChannelRow, ParticipantRow};
use crate::xmpp::mix::Mix;
use super::jids::{participant_jid, proxy_full_jid, proxy_jid};
use crate::xmpp::{content, el, ns};

/// Renders an event for the MIX participants it concerns.
pub async fn event(svc: &Service, ev: &Event) -> Result<Vec<Stanza>> {
    match ev {
        Event::Posted(p) => Ok(crate::outgoing::expand(posted(svc, p))),
        Event::PrivateMessage(pm) => private_message(svc, pm).await,
        Event::Retracted(r) => Ok(super::retract::render(svc, r)),
        // A service admin's announcement: from the channel itself, to every
        // participant subscribed to messages; not archived.
        Event::Announced(a) => Ok(a
            .participants
            .iter()
            .filter(|p| p.subscribed(NODE_MESSAGES))
            .filter_map(|p| {
                let mut m = Message::new_with_type(MessageType::Groupchat, Some(Jid::from(BareJid::new(&p.jid).ok()?)));
                m.from = Some(Jid::from(svc.channel_jid(View::Mix, &a.channel.name)));
                m.id = Some(Id(ids::time_sorted_id()));
                m.bodies.insert(xmpp_parsers::message::Lang::default(), a.text.clone());
                Some(Stanza::Message(m))
            })
            .collect()),
        // MUC sessions are clients in the presence node (XEP-0403); their
        // users appear as participants through Joined/Left.
        Event::Entered { .. } | Event::Exited { .. } | Event::Presence(_) => super::presence::render(svc, ev).await,
        Event::Joined { channel, participant } | Event::NickChanged { channel, participant, .. } => {
            let item = super::pubsub::participant_item(svc, channel, participant, ns::PUBSUB_EVENT);
            let mut out = notify(svc, channel, NODE_PARTICIPANTS, None, |_| Some(item.clone())).await?;
            out.extend(super::presence::render(svc, ev).await?);
            Ok(out)
        }
        Event::Left { channel, participant } => {
            let retract = el("retract", ns::PUBSUB_EVENT, &[("id", &proxy_jid(svc, &channel.name, &participant.participant_id))]);
            notify(svc, channel, NODE_PARTICIPANTS, None, |_| Some(retract.clone())).await
        }
        Event::AffiliationChanged { .. } | Event::RoleChanged { .. } => Ok(vec![]),
        // Banned or kicked: like a leave, and the removed user is told its own item is gone.
        Event::Removed { channel, participant, .. } => {
            let retract = el("retract", ns::PUBSUB_EVENT, &[("id", &proxy_jid(svc, &channel.name, &participant.participant_id))]);
            let mut out = notify(svc, channel, NODE_PARTICIPANTS, None, |_| Some(retract.clone())).await?;
            if participant.via_mix {
                out.push(event_message(svc, &channel.name, &participant.jid, NODE_PARTICIPANTS, retract));
            }
            Ok(out)
        }
        // A new name, description, contact or JID visibility: the info
        // node's new item to its subscribers; a new avatar: the metadata
        // node's.
        Event::ConfigChanged { channel, old, .. } => {
            let mut out = Vec::new();
            if channel.title != old.title || channel.description != old.description || channel.contact != old.contact || channel.jid_visibility != old.jid_visibility {
                let item = super::info::item(channel, ns::PUBSUB_EVENT);
                out.extend(notify(svc, channel, NODE_INFO, None, |_| Some(item.clone())).await?);
            }
            if channel.avatar_hash != old.avatar_hash {
                let avatar = match channel.avatar_hash.is_empty() {
                    true => None,
                    false => svc.channels.stored_avatar(&channel.name).await?,
                };
                let item = super::avatar::metadata_item(&channel.avatar_hash, avatar.as_ref(), ns::PUBSUB_EVENT);
                out.extend(notify(svc, channel, NODE_AVATAR_METADATA, None, |_| Some(item.clone())).await?);
            }
            Ok(out)
        }
        // Their participants items again (with or without the JID), and
        // their clients' presence.
        Event::VisibilityChanged { channel, participants } => {
            let mut out = Vec::new();
            for p in participants.iter() {
                let item = super::pubsub::participant_item(svc, channel, p, ns::PUBSUB_EVENT);
                out.extend(notify(svc, channel, NODE_PARTICIPANTS, None, |_| Some(item.clone())).await?);
            }
            out.extend(super::presence::render(svc, ev).await?);
            Ok(out)
        }
        Event::Destroyed { channel, participants, .. } => {
            // Each former MIX participant is told that their own item is gone.
            Ok(participants
                .iter()
                .filter(|p| p.via_mix)
                .map(|p| {
                    let retract = el("retract", ns::PUBSUB_EVENT, &[("id", &proxy_jid(svc, &channel.name, &p.participant_id))]);
                    event_message(svc, &channel.name, &p.jid, NODE_PARTICIPANTS, retract)
                })
                .collect())
        }
    }
}

fn event_message(svc: &Service, channel: &str, to: &str, node: &str, child: Element) -> Stanza {
    let mut items = el("items", ns::PUBSUB_EVENT, &[("node", node)]);
    items.append_child(child);
    let mut event = Element::bare("event", ns::PUBSUB_EVENT);
    event.append_child(items);
    let mut m = Message::new_with_type(MessageType::Headline, BareJid::new(to).ok().map(Jid::from));
    m.from = Some(Jid::from(svc.channel_jid(View::Mix, channel)));
    m.id = Some(Id(ids::time_sorted_id()));
    m.payloads.push(event);
    Stanza::Message(m)
}

/// A PubSub event to every participant subscribed to `node` (but `skip`).
async fn notify(svc: &Service, channel: &ChannelRow, node: &str, skip: Option<&str>, child: impl Fn(&ParticipantRow) -> Option<Element>) -> Result<Vec<Stanza>> {
    let participants = svc.channels.participants(&channel.name).await?;
    Ok(participants
        .iter()
        .filter(|p| p.subscribed(node) && Some(p.jid.as_str()) != skip)
        .filter_map(|p| child(p).map(|c| event_message(svc, &channel.name, &p.jid, node, c)))
        .collect())
}

/// The `<mix xmlns='urn:xmpp:mix:core:1'/>` element of a message.
/// `jid_visible`: the sender's JID may be shown (`visibility::shows_jid`
/// when the message was archived).
fn message_mix_element(jid_visible: bool, sender_jid: &str, nick: &str, submission_id: Option<String>) -> Element {
    Mix { nick: Some(nick.to_string()), jid: jid_visible.then(|| sender_jid.to_string()), submission_id }.into()
}

/// A message to every participant subscribed to the messages node: one
/// fan-out, and the sender's own copy (with its submission id) apart.
pub fn posted(svc: &Service, p: &Posted) -> Vec<Out> {
    let participants = &p.participants;
    let mut subscribed = participants.iter().filter(|r| r.subscribed(NODE_MESSAGES)).peekable();
    if subscribed.peek().is_none() {
        return vec![];
    }
    let Some(content) = p.content.get::<Message>() else {
        tracing::error!(id = %p.id, "message content of an unknown kind; not reflected");
        return Default::default();
    };
    let mut template = content.clone();
    template.from = Some(participant_jid(svc, &p.channel.name, &p.sender.participant_id));
    template.to = None;
    template.id = Some(Id(p.id.clone()));
    template.type_ = MessageType::Groupchat;
    template.payloads.push(message_mix_element(shows_jid(&p.channel, &p.sender), &p.sender.jid, &p.nick, None));
    template.payloads.push(svc.stanza_id(View::Mix, &p.channel.name, &p.id));
    let mut out = Vec::with_capacity(2);
    let mut to = Vec::with_capacity(participants.len());
    for r in subscribed {
        let Ok(jid) = BareJid::new(&r.jid) else { continue };
        if r.jid == p.sender.jid {
            let mut own = template.clone();
            own.to = Some(Jid::from(jid));
            if let Some(mix) = own.payloads.iter_mut().find(|e| e.is("mix", ns::MIX_CORE)) {
                *mix = message_mix_element(shows_jid(&p.channel, &p.sender), &p.sender.jid, &p.nick, p.submission_id.clone());
            }
            out.push(Out::Stanza(Stanza::Message(own)));
        } else {
            to.push(Jid::from(jid));
        }
    }
    if !to.is_empty() {
        out.push(Out::FanOut(FanOut::message(template, to)));
    }
    out
}

/// An archived message as MIX renders it inside a MAM result (jabber:client).
pub fn archived(svc: &Service, row: &ArchiveRow) -> Option<Element> {
    if row.retracts.is_some() {
        return super::retract::archived(svc, row);
    }
    let mut m = content::from_archive_xml(&row.payload)?;
    crate::xmpp::set_attr(&mut m, "from", participant_jid(svc, &row.channel, &row.participant_id).to_string());
    crate::xmpp::set_attr(&mut m, "id", row.id.as_str());
    crate::xmpp::set_attr(&mut m, "type", "groupchat");
    m.append_child(message_mix_element(row.jid_visible, &row.sender_jid, &row.nick, None));
    m.append_child(svc.stanza_id(View::Mix, &row.channel, &row.id));
    if let Some(t) = &row.tombstone {
        for c in super::retract::tombstone_children(svc, row, t) {
            m.append_child(c);
        }
    }
    Some(m)
}

/// A private message to a MIX participant (no MUC session to take it): to
/// its real bare JID, from the sender's proxy full JID, with the sender's
/// nick in `<mix/>`.
async fn private_message(svc: &Service, pm: &PrivateMessage) -> Result<Vec<Stanza>> {
    if !pm.sessions.is_empty() {
        return Ok(vec![]);
    }
    let Some(content) = pm.content.get::<Message>() else {
        tracing::error!(channel = %pm.channel.name, "private message content of an unknown kind; not relayed");
        return Ok(vec![]);
    };
    let mut out = content.clone();
    out.from = Some(proxy_full_jid(svc, &pm.channel.name, &pm.sender.participant_id, &pm.from_session).await?);
    out.to = Some(Jid::from(BareJid::new(&pm.recipient.jid).map_err(|e| crate::error::Error::internal(format!("participant JID {}: {e}", pm.recipient.jid)))?));
    if let Some(nick) = &pm.sender.nick {
        out.payloads.push(Mix { nick: Some(nick.clone()), jid: None, submission_id: None }.into());
    }
    Ok(vec![Stanza::Message(out)])
}
