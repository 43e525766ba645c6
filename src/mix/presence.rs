//! MIX-PRESENCE (XEP-0403): presence sent to a channel by a participant's
//! server, the presence node (MUC sessions and MIX clients alike), and its
//! distribution to the participants subscribed to it, from the client's
//! proxy JID `<participant-id>#<channel>@<mix domain>/<resource>` (in a
//! JID-hidden channel the resource is an opaque session token).

use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;

use super::jids::proxy_jid;
use crate::channel::event::Event;
use crate::channel::presence::NODE_PRESENCE;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::{ChannelRow, ParticipantRow};
use crate::xmpp::{content, el, ns, presence, text_el};

/// Presence to `channel@mix` from a client (XEP-0403 4.1, 4.3): available
/// adds or replaces its item in the presence node, unavailable removes it;
/// both are distributed to the node's subscribers. An available presence
/// from the user's bare JID is the participant's server asking for the whole
/// node again (XEP-0405 2.9.3), as is a probe; other types are not for channels.
pub async fn handle(svc: &Service, channel: &str, p: &Presence) -> Result<Reply> {
    let from = p.from.as_ref().ok_or_else(|| Error::bad_request("presence without a sender"))?;
    let full: FullJid = match (from.clone().try_into_full(), &p.type_) {
        (Ok(full), _) => full,
        (Err(_), PresenceType::None | PresenceType::Probe) => return refresh(svc, channel, &from.to_bare()).await,
        (Err(_), _) => return Ok(Reply::none()),
    };
    let events = match p.type_ {
        PresenceType::None => svc.channels.mix_client_presence(channel, &full, Some(presence::stored(p).unwrap_or_else(plain))).await?,
        PresenceType::Unavailable => svc.channels.mix_client_presence(channel, &full, None).await?,
        PresenceType::Probe => return refresh(svc, channel, &full.to_bare()).await,
        _ => return Ok(Reply::none()),
    };
    Ok(Reply::events(None, events))
}

/// A plain available presence, kept as such.
fn plain() -> String {
    format!("<presence xmlns='{}'/>", xmpp_parsers::ns::JABBER_CLIENT)
}

/// The presence of every online client, to a participant's bare JID.
#[tracing::instrument(skip(svc), level = "debug")]
async fn refresh(svc: &Service, channel: &str, who: &BareJid) -> Result<Reply> {
    let ch = svc.channels.require(channel).await?;
    svc.channels.require_participant(channel, who).await?;
    let mut reply = Reply::none();
    for (p, full, kept) in online(svc, &ch).await? {
        let from = client_jid(svc, &ch, &p, &full).await?;
        reply.after.extend(stanza(&ch, &p, from, &full, kept.as_deref(), true, who.as_str()));
    }
    Ok(reply)
}

/// Every online client of the channel: MUC sessions (with what they sent
/// on entering or since) and MIX clients: (participant, full JID, kept presence).
async fn online(svc: &Service, ch: &ChannelRow) -> Result<Vec<(ParticipantRow, String, Option<String>)>> {
    let participants = svc.channels.participants(&ch.name).await?;
    let find = |jid: &str| participants.iter().find(|p| p.jid == jid).cloned();
    let mut out = Vec::new();
    for o in svc.channels.occupants(&ch.name).await?.iter() {
        if let Some(p) = find(&o.jid) {
            out.push((p, o.full_jid.to_string(), o.presence.clone()));
        }
    }
    for c in svc.channels.mix_clients(&ch.name).await?.iter() {
        if out.iter().any(|(_, full, _)| *full == c.full_jid) {
            continue; // the same client as a MUC session: one item
        }
        if let Some(p) = find(&c.jid) {
            out.push((p, c.full_jid.clone(), Some(c.presence.clone())));
        }
    }
    Ok(out)
}

/// The JID a client's presence comes from:
/// `<participant-id>#<channel>@<mix domain>/<resource>`, where the resource
/// is the client's own in a JID-visible channel and, in a JID-hidden one, the
/// opaque token of its session (XEP-0404: the real resource is not shown;
/// the same token as in private messages, so a message to this JID reaches
/// that session).
async fn client_jid(svc: &Service, ch: &ChannelRow, p: &ParticipantRow, full_jid: &str) -> Result<Option<Jid>> {
    let Some((_, resource)) = full_jid.split_once('/') else { return Ok(None) };
    let resource = if ch.jid_visible { resource.to_string() } else { svc.channels.session_token(&ch.name, full_jid).await? };
    Ok(format!("{}/{resource}", proxy_jid(svc, &ch.name, &p.participant_id)).parse().ok())
}

/// `<mix xmlns='urn:xmpp:mix:presence:0'><jid/><nick/></mix>`: the client's
/// full JID where JIDs are visible, the nick when there is one.
fn presence_mix_element(ch: &ChannelRow, p: &ParticipantRow, full_jid: &str) -> Element {
    let mut mix = Element::bare("mix", ns::MIX_PRESENCE);
    if ch.jid_visible {
        mix.append_child(text_el("jid", ns::MIX_PRESENCE, full_jid));
    }
    if let Some(n) = &p.nick {
        mix.append_child(text_el("nick", ns::MIX_PRESENCE, n.as_str()));
    }
    mix
}

/// The presence of one client as the channel distributes it, to `to`.
/// `from`: the client's JID (`client_jid`).
fn stanza(ch: &ChannelRow, p: &ParticipantRow, from: Option<Jid>, full_jid: &str, kept: Option<&str>, available: bool, to: &str) -> Option<Stanza> {
    let mut pr = Presence::new(if available { PresenceType::None } else { PresenceType::Unavailable });
    pr.from = Some(from?);
    pr.to = Some(Jid::from(BareJid::new(to).ok()?));
    pr.payloads.push(presence_mix_element(ch, p, full_jid));
    presence::apply(&mut pr, kept);
    Some(Stanza::Presence(pr))
}

/// One client's presence to every participant subscribed to the presence node.
async fn distribute(svc: &Service, ch: &ChannelRow, p: &ParticipantRow, full_jid: &str, kept: Option<&str>, available: bool) -> Result<Vec<Stanza>> {
    let from = client_jid(svc, ch, p, full_jid).await?;
    distribute_from(svc, ch, p, from, full_jid, kept, available).await
}

/// `distribute`, from a given proxy JID.
async fn distribute_from(svc: &Service, ch: &ChannelRow, p: &ParticipantRow, from: Option<Jid>, full_jid: &str, kept: Option<&str>, available: bool) -> Result<Vec<Stanza>> {
    let participants = svc.channels.participants(&ch.name).await?;
    Ok(participants.iter().filter(|r| r.subscribed(NODE_PRESENCE)).filter_map(|r| stanza(ch, p, from.clone(), full_jid, kept, available, &r.jid)).collect())
}

/// Events → presence to the presence node's subscribers.
pub async fn render(svc: &Service, ev: &Event) -> Result<Vec<Stanza>> {
    match ev {
        Event::Entered { channel, participant, full_jid, .. } => {
            let kept = svc.channels.occupant(&channel.name, full_jid).await?.and_then(|o| o.presence);
            distribute(svc, channel, participant, full_jid, kept.as_deref(), true).await
        }
        Event::Exited { channel, participant, full_jid, leaving, .. } => distribute(svc, channel, participant, full_jid, leaving.as_deref(), false).await,
        Event::Presence(c) => {
            // A MUC session's change or a MIX client's: both are items of the one node.
            let available = c.presence.is_some();
            distribute(svc, &c.channel, &c.participant, &c.full_jid, c.presence.as_deref(), available).await
        }
        // Nick changes show as changes (XEP-0403 2): each online client again, with the new nick.
        Event::NickChanged { channel, participant, .. } => {
            let mut out = Vec::new();
            for (p, full, kept) in online(svc, channel).await?.into_iter().filter(|(p, _, _)| p.jid == participant.jid) {
                out.extend(distribute(svc, channel, &p, &full, kept.as_deref(), true).await?);
            }
            Ok(out)
        }
        // A new subscriber learns who is online (as a client coming online would
        // from its server's cache).
        Event::Joined { channel, participant } if participant.subscribed(NODE_PRESENCE) => {
            let mut out = Vec::new();
            for (p, full, kept) in online(svc, channel).await?.into_iter().filter(|(p, _, _)| p.jid != participant.jid) {
                let from = client_jid(svc, channel, &p, &full).await?;
                out.extend(stanza(channel, &p, from, &full, kept.as_deref(), true, &participant.jid));
            }
            Ok(out)
        }
        // The JID visibility changed, and with it each client's proxy JID (its
        // resource or a session token, `client_jid`): subscribers are told the
        // old address went offline, then the new one's presence, rendered in
        // the new mode. Without the first, they and the participant's server
        // (which replays what it holds to the user's new sessions) would keep
        // the old address, with its real resource and `<jid/>`, after a
        // switch to JID-hidden.
        Event::ConfigChanged { channel, old, .. } if channel.jid_visible != old.jid_visible => {
            let mut out = Vec::new();
            for (p, full, kept) in online(svc, channel).await? {
                out.extend(distribute_from(svc, channel, &p, client_jid(svc, old, &p, &full).await?, &full, None, false).await?);
                out.extend(distribute(svc, channel, &p, &full, kept.as_deref(), true).await?);
            }
            Ok(out)
        }
        _ => Ok(vec![]),
    }
}

/// The presence node's items for a PubSub items request (the seed's
/// listing 1): one per online client, named by its proxy JID.
pub async fn items(svc: &Service, ch: &ChannelRow) -> Result<Vec<Element>> {
    let mut items = Vec::new();
    for (p, full, kept) in online(svc, ch).await? {
        let from = client_jid(svc, ch, &p, &full).await?;
        let Some(Stanza::Presence(mut pr)) = stanza(ch, &p, from, &full, kept.as_deref(), true, &p.jid) else { continue };
        let Some(id) = pr.from.take().map(|j| j.to_string()) else { continue };
        pr.to = None;
        let mut item = el("item", ns::PUBSUB, &[("id", &id)]);
        let mut e = content::to_client_ns(pr.into());
        e.remove_child("priority", xmpp_parsers::ns::JABBER_CLIENT);
        item.append_child(e);
        items.push(item);
    }
    Ok(items)
}
