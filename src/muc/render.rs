//! Events → MUC stanzas to occupants' sessions. MIX participants with a
//! nick appear as occupants (DESIGN.md mapping; docs/muc.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::message::{Id, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;

use crate::channel::roles::Affiliation;
use crate::channel::visibility::{sees_every_jid, shows_jid};
use crate::channel::config::settings_differ;
use crate::channel::event::{Announcement, Event, Posted, PresenceChange, PrivateMessage, Via};
use crate::error::Result;
use crate::outgoing::{FanOut, Out};
use crate::service::{Service, View};
use crate::channel::presence::{self, Shown};
use crate::store::{ArchiveRow, ChannelRow, MixClientRow, OccupantRow, ParticipantRow};
use crate::xmpp::muc::{occupant_id, UserX};
use super::occupant_jid;
use crate::xmpp::{content, el, ns};

struct Ctx<'a> {
    svc: &'a Service,
    channel: &'a ChannelRow,
    occupants: &'a [OccupantRow],
    /// Online MIX clients (their presence shows for MIX participants).
    clients: &'a [MixClientRow],
    /// Stored affiliations, by bare JID.
    affiliations: HashMap<String, Affiliation>,
    /// The session that just left (no longer in `occupants`).
    departed: Option<&'a str>,
    /// The channel's participants (roles set by moderators among them).
    participants: Arc<Vec<ParticipantRow>>,
    /// In a JID-hidden room, the bare JIDs that see every real JID
    /// (`roles::sees_every_jid`), found once per event, not per recipient.
    seers: HashSet<String>,
}

impl Ctx<'_> {
    /// A presence from `p`'s occupant JID.
    fn presence(&self, p: &ParticipantRow, to: &str, type_: PresenceType, nick: &str, statuses: &[u16], new_nick: Option<&str>, destroy: Option<Element>) -> Option<Stanza> {
        let (affiliation, role) = super::admin::shown(self.channel, p, self.affiliations.get(&p.jid).copied().unwrap_or(Affiliation::None));
        let (affiliation, role) = if type_ == PresenceType::Unavailable && destroy.is_some() { ("none", "none") } else if type_ == PresenceType::Unavailable && new_nick.is_none() { (affiliation, "none") } else { (affiliation, role) };
        // The item names a session (§17.3 rule 10: a full JID): the
        // recipient's own when it is the user's, else one in the room, else
        // the one that just left.
        let own = to.parse::<FullJid>().ok().filter(|j| j.to_bare().as_str() == p.jid).map(|_| to);
        let session = own.or_else(|| self.occupants.iter().find(|o| o.jid == p.jid).map(|o| o.full_jid.as_str())).or(self.departed.filter(|d| d.split('/').next() == Some(p.jid.as_str())));
        let jid = self.sees_jids(to, p).then(|| session.unwrap_or(p.jid.as_str()));
        let x = UserX { affiliation, role, jid, nick: new_nick, statuses, destroy }.build();
        let mut pr = Presence::new(type_.clone());
        pr.from = occupant_jid(self.svc, &self.channel.name, nick);
        pr.to = Some(to.parse().ok()?);
        if type_ == PresenceType::None {
            if let Shown::Available(kept) = self.shown(p) {
                crate::xmpp::presence::apply(&mut pr, kept);
            }
        }
        pr.payloads.push(x);
        pr.payloads.push(occupant_id(&p.participant_id));
        pr.from.as_ref()?;
        Some(Stanza::Presence(pr))
    }

    /// Whether session `to` may see `p`'s real JID (`visibility::may_see_jid`;
    /// where `p`'s JID is shown, also a session that has just left).
    fn sees_jids(&self, to: &str, p: &ParticipantRow) -> bool {
        if shows_jid(self.channel, p) {
            return true;
        }
        let Some(viewer) = self.occupants.iter().find(|o| o.full_jid.as_str() == to).map(|o| o.jid.as_str()) else { return false };
        viewer == p.jid || self.seers.contains(viewer)
    }

    /// What the room shows for `p` (channel::presence::shown).
    fn shown(&self, p: &ParticipantRow) -> Shown<'_> {
        presence::shown(p, self.occupants, self.clients)
    }

    /// One presence to every session, with 110 added for the user's own.
    fn to_all(&self, p: &ParticipantRow, type_: PresenceType, nick: &str, statuses: &[u16], new_nick: Option<&str>, skip_own: bool) -> Vec<Stanza> {
        self.occupants
            .iter()
            .filter(|o| !(skip_own && o.jid == p.jid))
            .filter_map(|o| {
                let mut codes = statuses.to_vec();
                if o.jid == p.jid {
                    codes.push(110);
                }
                self.presence(p, o.full_jid.as_str(), type_.clone(), nick, &codes, new_nick, None)
            })
            .collect()
    }
}

/// Renders an event for the room's occupants.
pub async fn event(svc: &Service, ev: &Event) -> Result<Vec<Stanza>> {
    let (channel, occupants) = match ev {
        Event::Destroyed { channel, occupants, .. } => (channel.clone(), occupants.clone()),
        Event::ConfigChanged { channel, .. } | Event::VisibilityChanged { channel, .. } | Event::Joined { channel, .. } | Event::NickChanged { channel, .. } | Event::Left { channel, .. } | Event::Entered { channel, .. } | Event::Exited { channel, .. } => {
            (channel.clone(), svc.channels.occupants(&channel.name).await?)
        }
        Event::Posted(p) => (p.channel.clone(), p.occupants.clone()),
        Event::PrivateMessage(pm) => return Ok(private_message(svc, pm)),
        Event::Retracted(r) => return Ok(super::retract::render(svc, r)),
        Event::Announced(a) => return Ok(announcement(svc, a)),
        Event::Presence(c) => (c.channel.clone(), svc.channels.occupants(&c.channel.name).await?),
        Event::AffiliationChanged { .. } | Event::RoleChanged { .. } | Event::Removed { .. } => return super::admin::render(svc, ev).await,
    };
    if occupants.is_empty() && !matches!(ev, Event::Exited { .. }) {
        return Ok(vec![]);
    }
    let clients = if matches!(ev, Event::Posted(_)) { Default::default() } else { svc.channels.mix_clients(&channel.name).await? };
    let departed = match ev {
        Event::Exited { full_jid, .. } => Some(full_jid.as_str()),
        _ => None,
    };
    // A message needs neither roles nor affiliations (`posted` reads only
    // the occupants): no store query per message on the fan-out path.
    let (participants, affiliations) = if matches!(ev, Event::Posted(_)) {
        Default::default()
    } else {
        (svc.channels.participants(&channel.name).await?, svc.channels.affiliations(&channel.name).await?)
    };
    let seers = if channel.jid_visible() {
        HashSet::new()
    } else {
        participants.iter().filter(|v| sees_every_jid(&channel, v, svc.channels.acting_affiliation(&affiliations, &v.jid))).map(|v| v.jid.clone()).collect()
    };
    let ctx = Ctx { svc, channel: &channel, occupants: &occupants, clients: &clients, affiliations, departed, participants, seers };
    Ok(match ev {
        Event::PrivateMessage(pm) => private_message(svc, pm),
        Event::Retracted(r) => super::retract::render(svc, r),
        Event::Posted(p) => posted(svc, ctx.occupants, p).map(|f| f.stanzas().collect()).unwrap_or_default(),
        // A MIX participant who joined with a nick appears as an occupant;
        // a MUC session's own entry is rendered by `Entered`.
        // (Unless it shares presence and no client of it is online.)
        Event::Joined { participant, .. } | Event::NickChanged { participant, .. } if ctx.shown(participant) == Shown::Offline => vec![],
        Event::Joined { participant, .. } if participant.via_mix => {
            participant.nick.as_deref().map(|n| ctx.to_all(participant, PresenceType::None, n, &[], None, false)).unwrap_or_default()
        }
        Event::Joined { .. } => vec![],
        Event::NickChanged { participant, old: None, .. } if participant.via_mix => {
            participant.nick.as_deref().map(|n| ctx.to_all(participant, PresenceType::None, n, &[], None, false)).unwrap_or_default()
        }
        Event::NickChanged { old: None, .. } => vec![],
        Event::NickChanged { participant, old: Some(old), .. } => {
            let Some(new) = participant.nick.as_deref() else { return Ok(vec![]) };
            let mut out = ctx.to_all(participant, PresenceType::Unavailable, old, &[303], Some(new), false);
            out.extend(ctx.to_all(participant, PresenceType::None, new, &[], None, false));
            out
        }
        Event::Left { participant, .. } if participant.via_mix && ctx.shown(participant) != Shown::Offline => {
            participant.nick.as_deref().map(|n| ctx.to_all(participant, PresenceType::Unavailable, n, &[], None, false)).unwrap_or_default()
        }
        Event::Left { .. } => vec![],
        Event::Entered { participant, full_jid, first_session, created, renamed, .. } => entered(&ctx, participant, full_jid, *first_session, *created, *renamed).await?,
        Event::Exited { participant, full_jid, last_session, leaving, failed, .. } => {
            let Some(nick) = participant.nick.as_deref() else { return Ok(vec![]) };
            // A session removed after a delivery error is not told (it would
            // bounce again); the others see status 333 (XEP-0045: removed
            // because of an error reply, as Prosody does).
            let mut out: Vec<Stanza> = match failed {
                false => ctx.presence(participant, full_jid, PresenceType::Unavailable, nick, &[110], None, None).into_iter().collect(),
                true => vec![],
            };
            let codes: &[u16] = if *failed { &[333] } else { &[] };
            // A MIX participant stays in the occupant list (it is still in the
            // channel): the others are not told it left, unless the room no
            // longer shows it (it shares presence and no MIX client is online);
            // when its MIX clients say something, that is what the room shows now.
            let shown = ctx.shown(participant);
            if *last_session && participant.via_mix && shown != Shown::Offline {
                out = with_status(out, leaving.as_deref());
                if matches!(shown, Shown::Available(Some(_))) {
                    out.extend(ctx.to_all(participant, PresenceType::None, nick, &[], None, true));
                }
                return Ok(out);
            }
            if *last_session {
                out.extend(ctx.to_all(participant, PresenceType::Unavailable, nick, codes, None, true));
            }
            with_status(out, leaving.as_deref())
        }
        Event::AffiliationChanged { .. } | Event::RoleChanged { .. } | Event::Removed { .. } | Event::Announced(_) => vec![],
        Event::ConfigChanged { old, affiliations, .. } => config_changed(&ctx, old, affiliations).await?,
        Event::Presence(c) => presence_changed(&ctx, c),
        // The presence of each whose JID is now shown, with it (one now
        // hidden: MUC clients keep what they were shown; nothing to send).
        Event::VisibilityChanged { participants, .. } => participants
            .iter()
            .filter(|p| shows_jid(ctx.channel, p) && ctx.shown(p) != Shown::Offline)
            .filter_map(|p| Some(ctx.to_all(p, PresenceType::None, p.nick.as_deref()?, &[], None, false)))
            .flatten()
            .collect(),
        Event::Destroyed { participants, alternate, reason, .. } => occupants
            .iter()
            .filter_map(|o| {
                let p = participants.iter().find(|p| p.jid == o.jid)?;
                ctx.presence(p, o.full_jid.as_str(), PresenceType::Unavailable, p.nick.as_deref()?, &[110], None, Some(crate::xmpp::muc::destroy(alternate.as_deref(), Some(reason.as_deref().unwrap_or("The room was destroyed")))))
            })
            .collect(),
    })
}

/// A service admin's announcement: a groupchat from the room itself (no
/// nick: XEP-0045 §7.2.16 messages of the room) to every session, not
/// archived, so without a stanza-id.
fn announcement(svc: &Service, a: &Announcement) -> Vec<Stanza> {
    let room = Jid::from(svc.channel_jid(View::Muc, &a.channel.name));
    a.occupants
        .iter()
        .map(|o| {
            let mut m = Message::new_with_type(MessageType::Groupchat, Some(o.full_jid.clone()));
            m.from = Some(room.clone());
            m.id = Some(Id(crate::channel::ids::time_sorted_id()));
            m.bodies.insert(xmpp_parsers::message::Lang::default(), a.text.clone());
            Stanza::Message(m)
        })
        .collect()
}

/// A configuration change: a groupchat from the room to every session
/// with status 104 (settings) and 172 / 173 (now non-anonymous /
/// semi-anonymous), then the new presence of each present user whose
/// affiliation changed.
async fn config_changed(ctx: &Ctx<'_>, old: &ChannelRow, affiliations: &[(String, String)]) -> Result<Vec<Stanza>> {
    let mut codes = Vec::new();
    if settings_differ(old, ctx.channel) {
        codes.push(104);
    }
    // 172: now non-anonymous; 173: now semi-anonymous; between jid-hidden
    // and jid-maybe-visible (both semi-anonymous): a settings change.
    match (old.jid_visible(), ctx.channel.jid_visible()) {
        (false, true) => codes.push(172),
        (true, false) => codes.push(173),
        _ if old.jid_visibility != ctx.channel.jid_visibility && codes.is_empty() => codes.push(104),
        _ => {}
    }
    let mut out = Vec::new();
    if !codes.is_empty() {
        let mut x = Element::bare("x", ns::MUC_USER);
        for c in &codes {
            x.append_child(el("status", ns::MUC_USER, &[("code", &c.to_string())]));
        }
        let room = Jid::from(ctx.svc.channel_jid(View::Muc, &ctx.channel.name));
        let id = crate::channel::ids::time_sorted_id();
        for o in ctx.occupants {
            let mut m = Message::new_with_type(MessageType::Groupchat, Some(o.full_jid.clone()));
            m.from = Some(room.clone());
            m.id = Some(Id(id.clone()));
            m.payloads.push(x.clone());
            out.push(Stanza::Message(m));
        }
    }
    let participants = ctx.svc.channels.participants(&ctx.channel.name).await?;
    for (jid, _) in affiliations {
        if let Some(p) = participants.iter().find(|p| &p.jid == jid) {
            if let Some(nick) = p.nick.as_deref() {
                out.extend(ctx.to_all(p, PresenceType::None, nick, &[], None, false));
            }
        }
    }
    Ok(out)
}

/// The exit message (status) of a leaving session on its unavailable presences.
fn with_status(mut out: Vec<Stanza>, leaving: Option<&str>) -> Vec<Stanza> {
    if leaving.is_some() {
        for s in &mut out {
            if let Stanza::Presence(p) = s {
                crate::xmpp::presence::apply(p, leaving);
            }
        }
    }
    out
}

/// A presence change: a MUC session's goes to every occupant (110 for the
/// user's own sessions); a MIX client's only when the user has no MUC
/// session (then the MIX clients decide what the room shows).
fn presence_changed(ctx: &Ctx<'_>, c: &PresenceChange) -> Vec<Stanza> {
    let p = &c.participant;
    let Some(nick) = p.nick.as_deref() else { return vec![] };
    if c.via == Via::Mix && ctx.occupants.iter().any(|o| o.jid == p.jid) {
        return vec![];
    }
    match ctx.shown(p) {
        Shown::Available(_) => ctx.to_all(p, PresenceType::None, nick, &[], None, false),
        Shown::Offline if c.presence.is_none() => ctx.to_all(p, PresenceType::Unavailable, nick, &[], None, false),
        Shown::Offline => vec![],
    }
}

/// To the entering session: every other present nick, then its own
/// presence (110, 100 when JIDs are visible, 201 on creation, 210 when the
/// service changed the nick asked for). To the
/// others, when this is the user's first session and they do not see it
/// already as a MIX participant: the newcomer.
async fn entered(ctx: &Ctx<'_>, me: &ParticipantRow, full_jid: &str, first_session: bool, created: bool, renamed: bool) -> Result<Vec<Stanza>> {
    let Some(my_nick) = me.nick.as_deref() else { return Ok(vec![]) };
    let mut out = Vec::new();
    for p in ctx.participants.iter().filter(|p| p.jid != me.jid && ctx.shown(p) != Shown::Offline) {
        if let Some(n) = p.nick.as_deref() {
            out.extend(ctx.presence(p, full_jid, PresenceType::None, n, &[], None, None));
        }
    }
    let mut codes = vec![110];
    if shows_jid(ctx.channel, me) {
        codes.push(100);
    }
    if created {
        codes.push(201);
    }
    if renamed {
        codes.push(210);
    }
    out.extend(ctx.presence(me, full_jid, PresenceType::None, my_nick, &codes, None, None));
    // The others already see a MIX participant (its Joined/NickChanged),
    // unless it shares presence and no MIX client of it is online. A change
    // of what they see follows as a Presence event (muc::presence_update).
    if first_session && (!me.via_mix || presence::shown(me, &[], ctx.clients) == Shown::Offline) {
        out.extend(ctx.occupants.iter().filter(|o| o.jid != me.jid).filter_map(|o| ctx.presence(me, o.full_jid.as_str(), PresenceType::None, my_nick, &[], None, None)));
    }
    Ok(out)
}

/// A message to every session in the room; the sender's echo keeps its id.
fn posted(svc: &Service, occupants: &[OccupantRow], p: &Posted) -> Option<FanOut> {
    let from = occupant_jid(svc, &p.channel.name, &p.nick)?;
    let Some(content) = p.content.get::<Message>() else {
        tracing::error!(id = %p.id, "message content of an unknown kind; not reflected");
        return Default::default();
    };
    let mut template = content.clone();
    template.from = Some(from);
    template.to = None;
    template.type_ = MessageType::Groupchat;
    template.id = Some(Id(p.submission_id.clone().unwrap_or_else(|| p.id.clone())));
    template.payloads.push(svc.stanza_id(View::Muc, &p.channel.name, &p.id));
    template.payloads.push(occupant_id(&p.sender.participant_id));
    let to = occupants.iter().map(|o| o.full_jid.clone()).collect();
    Some(FanOut::message(template, to))
}

/// A message as the room's occupants get it: one fan-out (the fan-out path
/// of `event`, without expanding it).
pub fn posted_out(svc: &Service, p: &Posted) -> Vec<Out> {
    posted(svc, &p.occupants, p).filter(|f| !f.to.is_empty()).map(Out::FanOut).into_iter().collect()
}

/// An archived message as the MUC view shows it (history, MAM): from
/// `room/nick`, in `jabber:client`.
pub fn archived(svc: &Service, channel: &ChannelRow, row: &ArchiveRow) -> Option<Element> {
    if row.retracts.is_some() {
        return super::retract::archived(svc, channel, row);
    }
    let mut m = content::from_archive_xml(&row.payload)?;
    crate::xmpp::set_attr(&mut m, "from", occupant_jid(svc, &channel.name, &row.nick)?.to_string());
    crate::xmpp::set_attr(&mut m, "id", row.submission_id.clone().unwrap_or_else(|| row.id.clone()));
    crate::xmpp::set_attr(&mut m, "type", "groupchat");
    m.append_child(svc.stanza_id(View::Muc, &row.channel, &row.id));
    m.append_child(occupant_id(&row.participant_id));
    if let Some(t) = &row.tombstone {
        for c in super::retract::tombstone_children(svc, channel, row, t) {
            m.append_child(c);
        }
    }
    Some(m)
}

/// A private message to the recipient's MUC sessions: from
/// `room@muc/<sender's nick>`, with `<x xmlns='…muc#user'/>` and the
/// sender's occupant-id.
fn private_message(svc: &Service, pm: &PrivateMessage) -> Vec<Stanza> {
    let (Some(nick), Some(content)) = (pm.sender.nick.as_deref(), pm.content.get::<Message>()) else { return vec![] };
    let Some(from) = occupant_jid(svc, &pm.channel.name, nick) else { return vec![] };
    let mut base = content.clone();
    base.from = Some(from);
    base.payloads.push(Element::bare("x", ns::MUC_USER));
    base.payloads.push(occupant_id(&pm.sender.participant_id));
    pm.sessions
        .iter()
        .filter_map(|s| {
            let mut copy = base.clone();
            copy.to = Some(s.parse().ok()?);
            Some(Stanza::Message(copy))
        })
        .collect()
}
