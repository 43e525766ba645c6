//! `muc#admin` on a room (XEP-0045 §8-9): affiliation and role lists, and
//! changes to them (ban, kick, voice, moderator, member, admin, owner), and
//! how the room shows their effects (re-announced presence; 301, 307, 321
//! on removal, with actor and reason).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;

use super::occupant_jid;
use crate::channel::admin::{Change, Listed};
use crate::channel::nick;
use crate::channel::roles::{role_of, Affiliation, Role};
use crate::channel::visibility::{sees_every_jid, shows_jid};
use crate::channel::event::{Event, Removal};
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::{ChannelRow, ParticipantRow};
use crate::xmpp::bare_or_domain;
use crate::xmpp::muc::occupant_id;
use crate::xmpp::muc_admin::{user_x, ActorRef, AdminItem, AdminQuery};

fn parse(payload: &Element) -> Result<AdminQuery> {
    AdminQuery::try_from(payload.clone()).map_err(|_| Error::bad_request("malformed muc#admin query"))
}

fn affiliation(s: &str) -> Result<Affiliation> {
    Affiliation::parse(s).ok_or_else(|| Error::bad_request(format!("unknown affiliation {}", crate::error::quote(s))))
}

fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| Error::bad_request(format!("unknown role {}", crate::error::quote(s))))
}

/// A get: the list of one affiliation (admins and owners) or one role
/// (moderators). The first item says which.
pub async fn get(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let q = parse(payload)?;
    let item = q.items.first().ok_or_else(|| Error::bad_request("a muc#admin get needs an <item/>"))?;
    let bare = from.to_bare();
    let listed = match (&item.affiliation, &item.role) {
        (Some(a), None) => svc.channels.list_affiliation(room, &bare, affiliation(a)?).await?,
        (None, Some(r)) => svc.channels.list_role(room, &bare, role(r)?).await?,
        _ => return Err(Error::bad_request("an item names either an affiliation or a role")),
    };
    let items = listed.into_iter().map(result_item).collect();
    Ok(Reply::payload(AdminQuery { items }.into()))
}

fn result_item(l: Listed) -> AdminItem {
    // Only admins and owners (affiliation lists) and moderators (role lists)
    // get lists, and they may see real JIDs in every room.
    let jid = Some(l.jid);
    AdminItem { affiliation: Some(l.affiliation.as_str().to_string()), jid, nick: l.nick, role: l.role.map(|r| r.as_str().to_string()), reason: None }
}

/// A set: every item is checked, then all are applied together.
pub async fn set(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let q = parse(payload)?;
    if q.items.is_empty() {
        return Err(Error::bad_request("a muc#admin set needs at least one <item/>"));
    }
    let participants = svc.channels.participants(room).await?;
    let mut changes = Vec::with_capacity(q.items.len());
    for item in q.items {
        let reason = item.reason.filter(|r| !r.is_empty());
        match (&item.affiliation, &item.role) {
            (Some(a), None) => {
                let jid = match (&item.jid, &item.nick) {
                    (Some(j), _) => bare_or_domain(j)?,
                    // Some clients name the user by nick (Prosody accepts it too).
                    (None, Some(n)) => nick::find(&participants, n)
                        .map(|p| p.jid.clone())
                        .ok_or_else(|| Error::item_not_found().with_text("no occupant with that nick"))?,
                    (None, None) => return Err(Error::bad_request("an affiliation change needs a jid")),
                };
                changes.push(Change::Affiliation { jid, affiliation: affiliation(a)?, reason });
            }
            (None, Some(r)) => {
                let nick = match (&item.nick, &item.jid) {
                    (Some(n), _) => n.clone(),
                    (None, Some(j)) => {
                        let j = bare_or_domain(j)?;
                        participants
                            .iter()
                            .find(|p| p.jid == j)
                            .and_then(|p| p.nick.clone())
                            .ok_or_else(|| Error::item_not_found().with_text("that user is not in the room"))?
                    }
                    (None, None) => return Err(Error::bad_request("a role change needs a nick")),
                };
                changes.push(Change::Role { nick, role: role(r)?, reason });
            }
            _ => return Err(Error::bad_request("an item changes either an affiliation or a role")),
        }
    }
    let events = svc.channels.administer(room, &from.to_bare(), &changes).await?;
    Ok(Reply::events(None, events))
}

/// How the room shows an administrative event to its occupants. The item
/// carries the user's real JID where the recipient may see it: everybody in
/// a non-anonymous room; the user itself and moderators in a semi-anonymous
/// one.
pub async fn render(svc: &Service, ev: &Event) -> Result<Vec<Stanza>> {
    let (channel, participant, by) = match ev {
        Event::AffiliationChanged { channel, participant, by } | Event::RoleChanged { channel, participant, by } | Event::Removed { channel, participant, by, .. } => (channel, participant, by),
        _ => return Ok(vec![]),
    };
    let Some(nick) = participant.nick.as_deref() else { return Ok(vec![]) };
    let occupants = svc.channels.occupants(&channel.name).await?;
    let affs = svc.channels.affiliations(&channel.name).await?;
    let participants = svc.channels.participants(&channel.name).await?;
    let affiliation = affs.get(&participant.jid).copied().unwrap_or(Affiliation::None);
    let reason = by.reason.as_deref();
    // May the user of `viewer` (a bare JID) see the real JID of `subject`?
    // (A removed user is no longer a participant: it sees what everyone does.)
    let seers: std::collections::HashSet<&str> =
        participants.iter().filter(|v| sees_every_jid(channel, v, svc.channels.acting_affiliation(&affs, &v.jid))).map(|v| v.jid.as_str()).collect();
    // Shown to everyone: per the mode and, for a participant (or the one
    // removed), its preference (`visibility::shows_jid`).
    let shown = |subject: &str| {
        channel.jid_visible() || participants.iter().chain(std::iter::once(participant)).find(|p| p.jid == subject).is_some_and(|p| shows_jid(channel, p))
    };
    let sees_jid_of = |viewer: &str, subject: &str| shown(subject) || seers.contains(viewer) || (viewer == subject && participants.iter().any(|p| p.jid == viewer));
    let sees = |viewer: &str| sees_jid_of(viewer, &participant.jid);
    // The actor by its nick; an actor with no nick in the room (an admin
    // acting from outside) by its JID, to those who may see it only.
    let actor = |viewer: &str| by.nick.as_deref().map(ActorRef::Nick).or_else(|| sees_jid_of(viewer, &by.jid).then_some(ActorRef::Jid(by.jid.as_str())));
    let mut out = Vec::new();
    match ev {
        Event::Removed { sessions, cause, .. } => {
            let code = match cause {
                Removal::Banned => 301,
                Removal::Kicked => 307,
                Removal::MembershipRevoked => 321,
                // No code says "removed for its privacy preference"; 307
                // with the reason (docs/muc.md).
                Removal::Preference => 307,
                Removal::MembersOnly => 322,
            };
            let session = sessions.first().map(String::as_str).unwrap_or(participant.jid.as_str());
            for s in sessions {
                let x = user_x(affiliation.as_str(), Role::None.as_str(), Some(s), actor(&participant.jid), reason, &[code, 110]);
                out.extend(presence(svc, channel, participant, nick, s, PresenceType::Unavailable, x));
            }
            for o in occupants.iter().filter(|o| o.jid != participant.jid) {
                let x = user_x(affiliation.as_str(), Role::None.as_str(), sees(&o.jid).then_some(session), actor(&o.jid), reason, &[code]);
                out.extend(presence(svc, channel, participant, nick, o.full_jid.as_str(), PresenceType::Unavailable, x));
            }
        }
        _ => {
            let role = role_of(participant, affiliation, channel);
            let session = occupants.iter().find(|o| o.jid == participant.jid).map(|o| o.full_jid.as_str()).unwrap_or(participant.jid.as_str());
            for o in occupants.iter() {
                let own = o.jid == participant.jid;
                let codes: &[u16] = if own { &[110] } else { &[] };
                let jid = if own { Some(o.full_jid.as_str()) } else { sees(&o.jid).then_some(session) };
                let x = user_x(affiliation.as_str(), role.as_str(), jid, actor(&o.jid), reason, codes);
                out.extend(presence(svc, channel, participant, nick, o.full_jid.as_str(), PresenceType::None, x));
            }
        }
    }
    Ok(out)
}

fn presence(svc: &Service, channel: &ChannelRow, p: &ParticipantRow, nick: &str, to: &str, type_: PresenceType, x: Element) -> Option<Stanza> {
    let mut pr = Presence::new(type_);
    pr.from = Some(occupant_jid(svc, &channel.name, nick)?);
    pr.to = Some(to.parse().ok()?);
    pr.payloads.push(x);
    pr.payloads.push(occupant_id(&p.participant_id));
    Some(Stanza::Presence(pr))
}

/// The affiliation and role a participant shows in the room.
pub fn shown(channel: &ChannelRow, p: &ParticipantRow, affiliation: Affiliation) -> (&'static str, &'static str) {
    (affiliation.as_str(), role_of(p, affiliation, channel).as_str())
}
