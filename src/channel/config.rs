//! Room / channel configuration shared by both views: the muc#owner form
//! (XEP-0045 §10) and the MIX info and config nodes read the same
//! `ChannelRow`. Owners change it; every change goes through
//! `Store::update_config` and, for owner and admin lists, the affiliations.
//! Rooms created by MUC presence start locked (XEP-0045 §10.1) until their
//! owner configures them or accepts the instant room.

use std::collections::BTreeSet;
use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::Event;
use super::Channels;
use crate::error::{Error, Result};
use crate::store::{ChannelRow, JidVisibility};

/// Who may send private messages (muc#roomconfig_allowpm).
pub const ALLOW_PM: &[&str] = &["anyone", "participants", "moderators", "none"];

/// A requested configuration change: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub public: Option<bool>,
    pub members_only: Option<bool>,
    /// Who sees real JIDs (XEP-0404 mode; MUC whois).
    pub jid_visibility: Option<JidVisibility>,
    pub change_subject: Option<bool>,
    pub allow_pm: Option<String>,
    /// 0 = no limit.
    pub max_users: Option<i64>,
    pub moderated: Option<bool>,
    pub allow_invites: Option<bool>,
    pub lang: Option<String>,
    /// Senders may retract their own messages.
    pub user_retraction: Option<bool>,
    /// Who may retract anyone's message (`retract::RETRACTION_RIGHTS`).
    pub retraction_rights: Option<String>,
    /// The channel's contacts (bare JIDs; MIX 'Contact').
    pub contact: Option<Vec<BareJid>>,
    /// When the service removes the channel (ms); 0: permanent.
    pub end_of_life: Option<i64>,
    /// The complete list of owners (bare JIDs).
    pub owners: Option<Vec<BareJid>>,
    /// The complete list of admins (bare JIDs).
    pub admins: Option<Vec<BareJid>>,
}

/// What a configuration change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A setting other than JID visibility changed (MUC status 104).
    pub settings_changed: bool,
    /// JID visibility changed (MUC status 172 or 173).
    pub visibility_changed: bool,
    /// (bare JID, new affiliation) for each affiliation changed.
    pub affiliations: Vec<(String, String)>,
}

impl Channels {
    /// Whether `jid` is an owner of the channel (service admins count as owners).
    pub async fn is_owner(&self, name: &str, jid: &BareJid) -> Result<bool> {
        Ok(self.rights.is_admin(jid) || self.store.get_affiliation(name, jid.as_str()).await?.as_deref() == Some("owner"))
    }

    /// `forbidden` unless `jid` owns the channel.
    pub async fn require_owner(&self, name: &str, jid: &BareJid) -> Result<Arc<ChannelRow>> {
        let channel = self.require(name).await?;
        if !self.is_owner(name, jid).await? {
            return Err(Error::forbidden("only owners may configure this room"));
        }
        Ok(channel)
    }

    /// The bare JIDs holding `affiliation`, sorted.
    pub async fn affiliated(&self, name: &str, affiliation: &str) -> Result<Vec<String>> {
        let mut jids: Vec<String> = self.store.list_affiliations(name).await?.into_iter().filter(|(_, a)| a == affiliation).map(|(j, _)| j).collect();
        jids.sort();
        Ok(jids)
    }

    /// Locks a room just created by MUC presence (XEP-0045 §10.1.1): nobody
    /// but its owners may enter until it is configured.
    #[tracing::instrument(skip(self), level = "info")]
    pub async fn lock(&self, name: &str) -> Result<()> {
        let mut row = (*self.require(name).await?).clone();
        row.locked = true;
        self.store.update_config(&row).await?;
        self.invalidate(name).await;
        Ok(())
    }

    /// Applies an owner's configuration and unlocks the room. Returns the
    /// events to render (none when nothing changed): the removals a JID
    /// visibility change makes (`visibility::mode_changed`), the change,
    /// then whose JIDs it shows or hides.
    #[tracing::instrument(skip(self, patch), fields(by = %by), level = "info")]
    pub async fn configure(&self, name: &str, by: &BareJid, patch: &ConfigPatch) -> Result<Vec<Event>> {
        let old = self.require_owner(name, by).await?;
        let mut row = (*old).clone();
        apply(&mut row, patch)?;
        let affiliations = self.affiliation_changes(name, patch).await?;
        row.locked = false;
        let outcome = Outcome {
            settings_changed: settings_differ(&old, &row),
            visibility_changed: old.jid_visibility != row.jid_visibility,
            affiliations: affiliations.clone(),
        };
        if outcome.settings_changed || outcome.visibility_changed || !outcome.affiliations.is_empty() {
            row.config_by = by.to_string();
            row.config_at = crate::store::now_ms();
        }
        // Those a new JID visibility contradicts go first: a failure after
        // this leaves them removed, never shown under the new mode.
        let row = Arc::new(row);
        let (mut events, after) = self.mode_changed(&old, &row, by).await?;
        if !affiliations.is_empty() {
            let changes = crate::store::AdminChanges {
                affiliations: affiliations.iter().map(|(jid, a)| (jid.clone(), (a != "none").then(|| a.clone()))).collect(),
                ..Default::default()
            };
            self.store.apply_admin_changes(name, &changes).await?;
        }
        if *row != *old {
            self.store.update_config(&row).await?;
        }
        self.invalidate(name).await;
        if row.members_only && !old.members_only {
            events.extend(self.non_members_out(&old, by).await?);
        }
        tracing::info!(channel = %name, ?outcome, unlocked = old.locked, "room configured");
        if !outcome.settings_changed && !outcome.visibility_changed && outcome.affiliations.is_empty() {
            return Ok(vec![]);
        }
        events.push(Event::ConfigChanged { channel: row, old, affiliations: Arc::new(affiliations) });
        events.extend(after);
        Ok(events)
    }

    /// The channel became members-only: participants without an
    /// affiliation (but service administrators) are removed, in both views
    /// (MUC status 322). Rendered with the settings they were removed under.
    async fn non_members_out(&self, old: &Arc<ChannelRow>, by: &BareJid) -> Result<Vec<Event>> {
        let name = old.name.as_str();
        let affiliations = self.affiliations(name).await?;
        let participants = self.participants(name).await?;
        let gone: Vec<&crate::store::ParticipantRow> = participants
            .iter()
            .filter(|p| self.acting_affiliation(&affiliations, &p.jid) < super::roles::Affiliation::Member)
            .collect();
        if gone.is_empty() {
            return Ok(vec![]);
        }
        let occupants = self.occupants(name).await?;
        let plan = crate::store::AdminChanges { removals: gone.iter().map(|p| p.jid.clone()).collect(), ..Default::default() };
        self.store.apply_admin_changes(name, &plan).await?;
        self.forget_participants(name).await;
        self.forget_occupants(name).await;
        let actor = super::event::Actor {
            jid: by.to_string(),
            nick: participants.iter().find(|p| p.jid == by.as_str()).and_then(|p| p.nick.clone()),
            reason: Some("the room is now members-only".to_string()),
        };
        Ok(gone
            .into_iter()
            .map(|p| {
                tracing::info!(channel = %name, jid = %p.jid, "participant removed: the channel became members-only");
                let sessions = occupants.iter().filter(|o| o.jid == p.jid).map(|o| o.full_jid.to_string()).collect();
                Event::Removed { channel: old.clone(), participant: p.clone(), sessions, cause: super::event::Removal::MembersOnly, by: actor.clone() }
            })
            .collect())
    }

    /// The affiliation changes that make the owner and admin lists what the
    /// patch says. Former owners and admins become members (so a
    /// members-only room still lets them in). A room always keeps an owner.
    async fn affiliation_changes(&self, name: &str, patch: &ConfigPatch) -> Result<Vec<(String, String)>> {
        if patch.owners.is_none() && patch.admins.is_none() {
            return Ok(vec![]);
        }
        let current: Vec<(String, String)> = self.store.list_affiliations(name).await?;
        let holding = |a: &str| current.iter().filter(|(_, x)| x == a).map(|(j, _)| j.clone()).collect::<BTreeSet<String>>();
        let owners: BTreeSet<String> = match &patch.owners {
            Some(l) => l.iter().map(|j| j.to_string()).collect(),
            None => holding("owner"),
        };
        let admins: BTreeSet<String> = match &patch.admins {
            Some(l) => l.iter().map(|j| j.to_string()).collect(),
            None => holding("admin"),
        };
        if owners.is_empty() {
            return Err(Error::not_acceptable("a room needs at least one owner"));
        }
        if let Some(both) = owners.intersection(&admins).next() {
            return Err(Error::not_acceptable(format!("{both} cannot be both owner and admin")));
        }
        let mut changes = Vec::new();
        let now = |j: &str| current.iter().find(|(x, _)| x == j).map(|(_, a)| a.as_str());
        for j in &owners {
            if now(j) != Some("owner") {
                changes.push((j.clone(), "owner".to_string()));
            }
        }
        for j in &admins {
            if now(j) != Some("admin") {
                changes.push((j.clone(), "admin".to_string()));
            }
        }
        for (j, a) in &current {
            let dropped = (a == "owner" && !owners.contains(j)) || (a == "admin" && !admins.contains(j));
            if dropped && !owners.contains(j) && !admins.contains(j) {
                changes.push((j.clone(), "member".to_string()));
            }
        }
        Ok(changes)
    }
}

/// Checks the patch's values and writes them into `row`.
fn apply(row: &mut ChannelRow, p: &ConfigPatch) -> Result<()> {
    if let Some(pm) = &p.allow_pm {
        if !ALLOW_PM.contains(&pm.as_str()) {
            return Err(Error::not_acceptable(format!("allowpm must be one of {}", ALLOW_PM.join(", "))));
        }
        row.allow_pm = pm.clone();
    }
    if let Some(n) = p.max_users {
        if n < 0 {
            return Err(Error::not_acceptable("maxusers must be a positive number or 'none'"));
        }
        row.max_users = n;
    }
    if let Some(l) = &p.lang {
        if !valid_lang(l) {
            return Err(Error::not_acceptable("lang must be a language tag such as 'en' or 'pt-BR'"));
        }
        row.lang = l.clone();
    }
    if let Some(r) = &p.retraction_rights {
        if !super::retract::RETRACTION_RIGHTS.contains(&r.as_str()) {
            return Err(Error::not_acceptable(format!("retractionrights must be one of {}", super::retract::RETRACTION_RIGHTS.join(", "))));
        }
        row.retraction_rights = r.clone();
    }
    if let Some(t) = p.end_of_life {
        if t != 0 && t <= crate::store::now_ms() {
            return Err(Error::not_acceptable("End of Life must be in the future"));
        }
        row.end_of_life = t;
    }
    if let Some(c) = &p.contact {
        if c.len() > 20 {
            return Err(Error::not_acceptable("Contact: at most 20 JIDs"));
        }
        row.contact = c.iter().map(|j| j.to_string()).collect::<Vec<_>>().join("\n");
    }
    if let Some(t) = &p.title {
        row.title = t.clone();
    }
    if let Some(d) = &p.description {
        row.description = d.clone();
    }
    let set = |field: &mut bool, v: Option<bool>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut row.public, p.public);
    set(&mut row.members_only, p.members_only);
    if let Some(v) = p.jid_visibility {
        row.jid_visibility = v;
    }
    set(&mut row.change_subject, p.change_subject);
    set(&mut row.moderated, p.moderated);
    set(&mut row.allow_invites, p.allow_invites);
    set(&mut row.user_retraction, p.user_retraction);
    Ok(())
}

/// An empty tag, or a BCP 47-shaped one: letters, digits and hyphens in
/// subtags of 1 to 8 characters, starting with a letter.
fn valid_lang(l: &str) -> bool {
    l.is_empty()
        || (l.len() <= 35
            && l.starts_with(|c: char| c.is_ascii_alphabetic())
            && l.split('-').all(|s| !s.is_empty() && s.len() <= 8 && s.chars().all(|c| c.is_ascii_alphanumeric())))
}

/// Whether a setting other than JID visibility and the lock differs.
pub fn settings_differ(a: &ChannelRow, b: &ChannelRow) -> bool {
    let mut b = b.clone();
    b.jid_visibility = a.jid_visibility;
    b.locked = a.locked;
    b.config_by.clone_from(&a.config_by);
    b.config_at = a.config_at;
    *a != b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in ["", "en", "pt-BR", "zh-Hant-TW", "de-1996"] {
            assert!(valid_lang(ok), "{ok:?} refused");
        }
        for bad in ["1en", "en--x", "en_US", "toolongtag", "en-", "é"] {
            assert!(!valid_lang(bad), "{bad:?} accepted");
        }
    }
}
