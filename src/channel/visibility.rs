//! Who sees whose real JID (XEP-0404 MIX-ANON; XEP-0045 anonymity), one
//! answer for both views: the channel's mode (jid-hidden,
//! jid-maybe-visible, jid-visible) and each participant's preferences.
//!
//! - A participant's JID is *shown* (to everyone in the channel) when the
//!   channel is jid-visible, or jid-maybe-visible and its preference is
//!   `always` (`shows_jid`).
//! - Moderators (MIX administrators; service admins) and the user itself
//!   see it whatever the mode (`may_see_jid`).
//! - A preference that the mode contradicts (`never` in a jid-visible
//!   channel, `always` in a jid-hidden one) is refused when asked for; a
//!   mode change removes the participants whose preference it contradicts,
//!   before anyone sees what the new mode shows (`removed_by_mode`).

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::{Actor, Event, Removal};
use super::roles::{moderates, Affiliation};
use super::Channels;
use crate::error::{Error, Result};
use crate::store::{ChannelRow, JidPreference, JidVisibility, ParticipantRow, Preferences};

/// Whether `subject`'s real JID is shown to every participant of `channel`.
pub fn shows_jid(channel: &ChannelRow, subject: &ParticipantRow) -> bool {
    shown_in(channel.jid_visibility, subject.prefs.jid)
}

fn shown_in(mode: JidVisibility, pref: JidPreference) -> bool {
    match mode {
        JidVisibility::Visible => true,
        JidVisibility::MaybeVisible => pref == JidPreference::Always,
        JidVisibility::Hidden => false,
    }
}

/// May participant `viewer` (acting with `affiliation`) see the real JID of
/// `subject`? The user itself, moderators, and everyone where the JID is
/// shown. The one answer for every place either view shows a real JID.
pub fn may_see_jid(channel: &ChannelRow, viewer: &ParticipantRow, affiliation: Affiliation, subject: &ParticipantRow) -> bool {
    viewer.jid == subject.jid || shows_jid(channel, subject) || sees_every_jid(channel, viewer, affiliation)
}

/// Whether `viewer` sees every participant's real JID: everyone in a
/// jid-visible channel, moderators in the others.
pub fn sees_every_jid(channel: &ChannelRow, viewer: &ParticipantRow, affiliation: Affiliation) -> bool {
    channel.jid_visible() || moderates(channel, viewer, affiliation)
}

/// Why a preference cannot hold in a channel of this mode, if it cannot.
fn contradiction(mode: JidVisibility, pref: JidPreference) -> Option<&'static str> {
    match (mode, pref) {
        (JidVisibility::Visible, JidPreference::Never) => Some("this channel shows every participant's JID; a 'never' JID visibility preference cannot hold here"),
        (JidVisibility::Hidden, JidPreference::Always) => Some("this channel hides every participant's JID; an 'always' JID visibility preference cannot hold here"),
        _ => None,
    }
}

/// A requested change of preferences: `None` keeps a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferenceChange {
    pub jid: Option<JidPreference>,
    pub private_messages: Option<bool>,
    pub vcard: Option<bool>,
    pub presence: Option<bool>,
}

impl PreferenceChange {
    fn applied(&self, mut p: Preferences) -> Preferences {
        p.jid = self.jid.unwrap_or(p.jid);
        p.private_messages = self.private_messages.unwrap_or(p.private_messages);
        p.vcard = self.vcard.unwrap_or(p.vcard);
        p.presence = self.presence.unwrap_or(p.presence);
        p
    }
}

/// How a real-JID filter on the archive may be answered for a requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JidFilter {
    /// Every message of that JID (its own JID; a moderator; ...).
    Every,
    /// Only the messages whose sender's JID was shown when archived.
    ShownOnly,
    /// Not at all: nobody's JID is shown in this channel.
    Refused,
}

impl Channels {
    /// How `viewer` may filter the archive by the real JID `subject`: all
    /// of it for its own JID and for those who see every JID; otherwise only
    /// the messages that showed their sender's JID (none in a jid-hidden
    /// channel, so refused there), whatever the mode is now.
    pub async fn jid_filter(&self, channel: &ChannelRow, viewer: &ParticipantRow, subject: &str) -> Result<JidFilter> {
        let affiliation = self.acting_affiliation(&self.affiliations(&channel.name).await?, &viewer.jid);
        Ok(if viewer.jid == subject || moderates(channel, viewer, affiliation) {
            JidFilter::Every
        } else if channel.jid_visibility == JidVisibility::Hidden {
            JidFilter::Refused
        } else {
            JidFilter::ShownOnly
        })
    }

    /// Changes a participant's preferences. Returns them as they are now and
    /// the events to render (its JID now shown or no longer shown).
    #[tracing::instrument(skip(self), level = "info")]
    pub async fn set_preferences(&self, name: &str, jid: &BareJid, change: &PreferenceChange) -> Result<(Preferences, Vec<Event>)> {
        let channel = self.require(name).await?;
        let before = self.require_participant(name, jid).await?;
        let prefs = change.applied(before.prefs);
        if let Some(why) = contradiction(channel.jid_visibility, prefs.jid) {
            return Err(Error::not_acceptable(why));
        }
        if prefs == before.prefs {
            return Ok((prefs, vec![]));
        }
        self.store.set_preferences(name, jid.as_str(), &prefs).await?;
        self.forget_participants(name).await;
        let mut after = before.clone();
        after.prefs = prefs;
        let mut events = Vec::new();
        if before.prefs.presence && !prefs.presence {
            // No longer shared: its clients leave the presence node.
            events.extend(self.clients_gone(&channel, &after).await?);
            for c in self.mix_clients(name).await?.iter().filter(|c| c.jid == jid.as_str()) {
                self.store.remove_mix_presence(name, &c.full_jid).await?;
            }
            self.forget_mix_clients(name).await;
        }
        if shows_jid(&channel, &before) != shows_jid(&channel, &after) {
            events.push(Event::VisibilityChanged { channel: channel.clone(), participants: Arc::new(vec![after]) });
        }
        tracing::info!(channel = %name, jid = %jid, prefs = ?prefs, "preferences changed");
        Ok((prefs, events))
    }

    /// Checks `change` for a user about to join (before anything is stored).
    pub(crate) fn check_preferences(channel: &ChannelRow, change: &PreferenceChange) -> Result<Preferences> {
        let prefs = change.applied(Preferences::default());
        match contradiction(channel.jid_visibility, prefs.jid) {
            Some(why) => Err(Error::not_acceptable(why)),
            None => Ok(prefs),
        }
    }

    /// A mode change from `old` to `new`: the participants whose preference
    /// the new mode contradicts are removed, and their `Removed` events are
    /// rendered with the *old* channel, so the new mode never shows them
    /// (the first list: to render before the change). The others whose JID
    /// the change shows or hides are named in a `VisibilityChanged` (the
    /// second list, after the change): each view sends them again as the
    /// new mode shows them, so that nobody keeps a JID the channel now
    /// hides (a participant's server replays the presence it holds).
    pub(crate) async fn mode_changed(&self, old: &Arc<ChannelRow>, new: &Arc<ChannelRow>, by: &BareJid) -> Result<(Vec<Event>, Vec<Event>)> {
        if old.jid_visibility == new.jid_visibility {
            return Ok((vec![], vec![]));
        }
        let name = new.name.as_str();
        let participants = self.participants(name).await?;
        let occupants = self.occupants(name).await?;
        let (gone, stay): (Vec<&ParticipantRow>, Vec<&ParticipantRow>) = participants.iter().partition(|p| contradiction(new.jid_visibility, p.prefs.jid).is_some());
        let reason = format!("the channel's JID visibility changed to {}, which your JID visibility preference does not allow", new.jid_visibility.as_str());
        let actor = Actor { jid: by.to_string(), nick: participants.iter().find(|p| p.jid == by.as_str()).and_then(|p| p.nick.clone()), reason: Some(reason) };
        let mut removals = Vec::new();
        if !gone.is_empty() {
            let plan = crate::store::AdminChanges { removals: gone.iter().map(|p| p.jid.clone()).collect(), ..Default::default() };
            self.store.apply_admin_changes(name, &plan).await?;
            self.forget_participants(name).await;
            self.forget_occupants(name).await;
        }
        for p in gone {
            tracing::info!(channel = %name, jid = %p.jid, pref = p.prefs.jid.as_str(), "participant removed by a JID visibility change");
            let sessions = occupants.iter().filter(|o| o.jid == p.jid).map(|o| o.full_jid.to_string()).collect();
            removals.push(Event::Removed { channel: old.clone(), participant: p.clone(), sessions, cause: Removal::Preference, by: actor.clone() });
        }
        let changed: Vec<ParticipantRow> = stay.into_iter().filter(|p| shows_jid(old, p) != shows_jid(new, p)).cloned().collect();
        let after = if changed.is_empty() { vec![] } else { vec![Event::VisibilityChanged { channel: new.clone(), participants: Arc::new(changed) }] };
        Ok((removals, after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_mode_shows() {
        use JidPreference::*;
        use JidVisibility::*;
        for pref in [Default, Never, Always, PreferNot] {
            assert!(shown_in(Visible, pref) || contradiction(Visible, pref).is_some());
            assert!(!shown_in(Hidden, pref));
        }
        assert!(shown_in(MaybeVisible, Always));
        for pref in [Default, Never, PreferNot] {
            assert!(!shown_in(MaybeVisible, pref), "{pref:?} shown in jid-maybe-visible");
        }
        assert!(contradiction(Visible, Never).is_some());
        assert!(contradiction(Hidden, Always).is_some());
        assert!(contradiction(MaybeVisible, Never).is_none() && contradiction(MaybeVisible, Always).is_none());
    }
}
