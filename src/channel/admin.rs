//! Administration shared by both views: affiliations (owner, admin, member,
//! outcast; MIX: config node Owner / Administrator, allowed and banned
//! nodes), roles set by moderators (MUC only), and removals (ban, kick,
//! membership revoked), with XEP-0045's privilege rules. A request with
//! several changes is checked entirely before anything is written, then
//! written in one transaction.

use std::collections::HashMap;

use xmpp_parsers::jid::BareJid;

use super::event::{Actor, Event, Removal};
use super::roles::{moderates, role_of, Affiliation, Role};
use super::{nick, Channels};
use crate::error::{Error, Result};
use crate::store::{AdminChanges, ChannelRow, ParticipantRow};

/// One requested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A bare JID (or a domain) gets an affiliation.
    Affiliation { jid: String, affiliation: Affiliation, reason: Option<String> },
    /// The participant with this nick gets a role (`none` = kick).
    Role { nick: String, role: Role, reason: Option<String> },
}

/// An entry of an affiliation or role list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub jid: String,
    pub nick: Option<String>,
    pub affiliation: Affiliation,
    /// The role, for users in the channel.
    pub role: Option<Role>,
}

impl Channels {
    /// Every stored affiliation of a channel.
    pub async fn affiliations(&self, name: &str) -> Result<HashMap<String, Affiliation>> {
        Ok(self.store.list_affiliations(name).await?.into_iter().map(|(j, a)| (j, Affiliation::from_stored(Some(&a)))).collect())
    }

    /// The actor's affiliation when it is an admin or owner (service admins
    /// count as owners); `forbidden` otherwise.
    pub async fn require_admin(&self, name: &str, actor: &BareJid) -> Result<Affiliation> {
        self.require(name).await?;
        let mine = self.acting_affiliation(&self.affiliations(name).await?, actor.as_str());
        if mine < Affiliation::Admin {
            return Err(Error::forbidden("only admins and owners may do this"));
        }
        Ok(mine)
    }

    /// The JIDs with affiliation `wanted`: for admins and owners, and only
    /// affiliations up to their own (an admin may not list owners).
    pub async fn list_affiliation(&self, name: &str, actor: &BareJid, wanted: Affiliation) -> Result<Vec<Listed>> {
        self.require(name).await?;
        let affs = self.affiliations(name).await?;
        let mine = self.acting_affiliation(&affs, actor.as_str());
        if mine < Affiliation::Admin {
            return Err(Error::forbidden("only admins and owners may see affiliation lists"));
        }
        if wanted > mine {
            return Err(Error::forbidden("you may not see the list of a higher affiliation"));
        }
        if wanted == Affiliation::None {
            return Err(Error::bad_request("affiliation none is not a list"));
        }
        let participants = self.participants(name).await?;
        let registered = self.registered_nicks(name).await?;
        let mut out: Vec<Listed> = affs
            .into_iter()
            .filter(|(_, a)| *a == wanted)
            .map(|(jid, affiliation)| {
                // The nick it registered here (XEP-0045 §9.5), else the one it uses.
                let nick = registered.iter().find(|(j, _)| *j == jid).map(|(_, n)| n.clone()).or_else(|| participants.iter().find(|p| p.jid == jid).and_then(|p| p.nick.clone()));
                Listed { jid, nick, affiliation, role: None }
            })
            .collect();
        out.sort_by(|a, b| a.jid.cmp(&b.jid));
        Ok(out)
    }

    /// The participants shown as occupants (those with a nick) whose role is
    /// `wanted`: for moderators only.
    pub async fn list_role(&self, name: &str, actor: &BareJid, wanted: Role) -> Result<Vec<Listed>> {
        let channel = self.require(name).await?;
        let affs = self.affiliations(name).await?;
        let participants = self.participants(name).await?;
        self.require_moderator(&channel, &affs, &participants, actor)?;
        Ok(participants
            .iter()
            .filter(|p| p.nick.is_some())
            .filter_map(|p| {
                let affiliation = affs.get(&p.jid).copied().unwrap_or(Affiliation::None);
                let role = role_of(p, affiliation, &channel);
                (role == wanted).then(|| Listed { jid: p.jid.clone(), nick: p.nick.clone(), affiliation, role: Some(role) })
            })
            .collect())
    }

    /// The actor's participant row when it is a moderator; `forbidden` otherwise.
    fn require_moderator<'a>(&self, channel: &ChannelRow, affs: &HashMap<String, Affiliation>, participants: &'a [ParticipantRow], actor: &BareJid) -> Result<&'a ParticipantRow> {
        let me = participants.iter().find(|p| p.jid == actor.as_str()).ok_or_else(|| Error::forbidden("only moderators in the room may do this"))?;
        if !moderates(channel, me, self.acting_affiliation(affs, actor.as_str())) {
            return Err(Error::forbidden("only moderators may do this"));
        }
        Ok(me)
    }

    /// Applies a list of changes by `actor`: all of them or, when one is
    /// refused, none. Returns the events to render.
    #[tracing::instrument(skip(self, changes), fields(actor = %actor, changes = changes.len()), level = "info")]
    pub async fn administer(&self, name: &str, actor: &BareJid, changes: &[Change]) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        let affs = self.affiliations(name).await?;
        let participants = self.participants(name).await?;
        let mine = self.acting_affiliation(&affs, actor.as_str());
        let me = participants.iter().find(|p| p.jid == actor.as_str());
        let current = |jid: &str| affs.get(jid).copied().unwrap_or(Affiliation::None);

        let mut plan = AdminChanges::default();
        let mut after = affs.clone();
        // (jid, removal cause, reason) and (jid, reason, role change?) in request order.
        let mut removed: Vec<(String, Removal, Option<String>)> = Vec::new();
        let mut updated: Vec<(String, bool, Option<String>)> = Vec::new();
        for change in changes {
            match change {
                Change::Affiliation { jid, affiliation, reason } => {
                    let target = current(jid);
                    if mine < Affiliation::Admin {
                        return Err(Error::forbidden("only admins and owners may change affiliations"));
                    }
                    if jid == actor.as_str() && *affiliation == Affiliation::Outcast {
                        return Err(Error::conflict("you may not ban yourself"));
                    }
                    // A domain ban that covers the actor (or an owner) would
                    // lock them out with everyone else of that server.
                    if *affiliation == Affiliation::Outcast && !jid.contains('@') {
                        if actor.domain().as_str() == jid {
                            return Err(Error::conflict("you may not ban your own server"));
                        }
                        if let Some(owner) = after.iter().find(|(j, a)| **a == Affiliation::Owner && j.rsplit_once('@').is_some_and(|(_, d)| d == jid)) {
                            return Err(Error::conflict(format!("banning {jid} would lock out the owner {}", owner.0)));
                        }
                    }
                    if mine == Affiliation::Admin && (*affiliation >= Affiliation::Admin || target >= Affiliation::Admin) {
                        return Err(Error::not_allowed("admins may not grant or change the affiliation of admins and owners"));
                    }
                    match affiliation {
                        Affiliation::None => after.remove(jid),
                        a => after.insert(jid.clone(), *a),
                    };
                    plan.affiliations.push((jid.clone(), affiliation.stored()));
                    let hit: Vec<&ParticipantRow> = if jid.contains('@') {
                        participants.iter().filter(|p| &p.jid == jid).collect()
                    } else if *affiliation == Affiliation::Outcast {
                        // A domain ban removes that server's users (not the actor).
                        participants.iter().filter(|p| p.jid.rsplit_once('@').map(|(_, d)| d) == Some(jid.as_str()) && p.jid != actor.as_str()).collect()
                    } else {
                        vec![]
                    };
                    for p in hit {
                        if *affiliation == Affiliation::Outcast {
                            removed.push((p.jid.clone(), Removal::Banned, reason.clone()));
                        } else if channel.members_only && *affiliation < Affiliation::Member {
                            removed.push((p.jid.clone(), Removal::MembershipRevoked, reason.clone()));
                        } else {
                            updated.push((p.jid.clone(), false, reason.clone()));
                        }
                    }
                }
                Change::Role { nick: raw, role, reason } => {
                    let me = self.require_moderator(&channel, &affs, &participants, actor)?;
                    let target = nick::find(&participants, raw).ok_or_else(|| Error::item_not_found().with_text("no occupant with that nick"))?;
                    let target_aff = current(&target.jid);
                    let target_role = role_of(target, target_aff, &channel);
                    if target.jid == me.jid && *role == Role::None {
                        return Err(Error::conflict("you may not kick yourself"));
                    }
                    if mine < target_aff {
                        return Err(Error::not_allowed("you may not change the role of a user with a higher affiliation"));
                    }
                    if (*role == Role::Moderator || target_role == Role::Moderator) && mine < Affiliation::Admin && target.jid != me.jid {
                        return Err(Error::not_allowed("only admins and owners may grant or revoke moderator status"));
                    }
                    if target_aff >= Affiliation::Admin && *role != Role::Moderator && *role != Role::None {
                        return Err(Error::not_allowed("admins and owners are always moderators"));
                    }
                    if *role == Role::None {
                        removed.push((target.jid.clone(), Removal::Kicked, reason.clone()));
                    } else {
                        plan.roles.push((target.jid.clone(), Some(role.as_str().to_string())));
                        updated.push((target.jid.clone(), true, reason.clone()));
                    }
                }
            }
        }
        if !after.values().any(|a| *a == Affiliation::Owner) {
            return Err(Error::conflict("the room must keep at least one owner"));
        }
        let mut seen = std::collections::HashSet::new();
        removed.retain(|(jid, _, _)| seen.insert(jid.clone()));
        plan.removals = removed.iter().map(|(j, _, _)| j.clone()).collect();
        let occupants = self.occupants(name).await?;
        self.store.apply_admin_changes(name, &plan).await?;
        self.forget_participants(name).await;
        self.forget_occupants(name).await;
        tracing::info!(channel = %name, ?plan, "administrative changes applied");

        let by = |reason: &Option<String>| Actor { jid: actor.to_string(), nick: me.and_then(|p| p.nick.clone()), reason: reason.clone() };
        let mut events = Vec::new();
        let now = self.participants(name).await?;
        let mut announced = std::collections::HashSet::new();
        for (jid, role_change, reason) in updated.iter().rev() {
            if plan.removals.contains(jid) || !announced.insert(jid.clone()) {
                continue;
            }
            if let Some(p) = now.iter().find(|p| &p.jid == jid) {
                let (channel, participant, by) = (channel.clone(), p.clone(), by(reason));
                events.push(if *role_change { Event::RoleChanged { channel, participant, by } } else { Event::AffiliationChanged { channel, participant, by } });
            }
        }
        events.reverse();
        for (jid, cause, reason) in removed {
            let Some(participant) = participants.iter().find(|p| p.jid == jid).cloned() else { continue };
            let sessions = occupants.iter().filter(|o| o.jid == jid).map(|o| o.full_jid.to_string()).collect();
            events.push(Event::Removed { channel: channel.clone(), participant, sessions, cause, by: by(&reason) });
        }
        Ok(events)
    }

    /// `forbidden` for a participant without voice (role visitor).
    pub async fn check_voice(&self, name: &str, jid: &BareJid) -> Result<()> {
        let channel = self.require(name).await?;
        let participants = self.participants(name).await?;
        let Some(p) = participants.iter().find(|p| p.jid == jid.as_str()) else { return Ok(()) };
        self.check_voice_of(&channel, p).await
    }

    /// `check_voice` for a participant already looked up.
    pub(crate) async fn check_voice_of(&self, channel: &ChannelRow, p: &ParticipantRow) -> Result<()> {
        let name = channel.name.as_str();
        // The affiliation decides only the default role, and that is
        // visitor only in a moderated room: otherwise no store query (this
        // runs for every message).
        if p.role.as_deref().and_then(Role::parse).is_some() || !channel.moderated {
            return if role_of(p, Affiliation::None, channel) == Role::Visitor { Err(Error::forbidden("visitors may not send messages to this room")) } else { Ok(()) };
        }
        let affiliation = Affiliation::from_stored(self.store.get_affiliation(name, &p.jid).await?.as_deref());
        if role_of(p, affiliation, channel) == Role::Visitor {
            return Err(Error::forbidden("visitors may not send messages to this room"));
        }
        Ok(())
    }
}
