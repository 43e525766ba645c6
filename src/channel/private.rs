//! Private messages between participants, whichever view each is in
//! (XEP-0045 §7.5 to `room/nick`; XEP-0369 seed "Sending Private Messages"
//! and XEP-0404 through proxy JIDs). The channel checks the room's policy
//! and decides where the message goes: to the recipient's MUC sessions
//! when it has any, otherwise (a MIX participant) to its bare JID. Each
//! renderer then writes it in its own dialect (`Event::PrivateMessage`).

use std::sync::Arc;

use super::event::{Event, PrivateMessage};
use super::payload::Payload;
use super::roles::{role_of, Role};
use super::Channels;
use crate::error::{Error, Result};
use crate::store::{ChannelRow, ParticipantRow};

impl Channels {
    /// The opaque token naming a session (a full JID) in proxy JIDs
    /// (`<participant-id>#<channel>@mix/<token>`): a reply can go back to
    /// the same session without the real JID being shown.
    pub async fn session_token(&self, name: &str, full_jid: &str) -> Result<String> {
        self.salted_hash(name, full_jid).await
    }

    /// Relays a private message from `sender` (its session `from_session`)
    /// to `recipient`: to the recipient's MUC sessions when it has any (only
    /// the one `to_session` names, when it names one still there),
    /// otherwise to a MIX participant's bare JID. Checks the room's policy
    /// (`check_pm_policy`); the sender needs a nick to be shown to MUC
    /// sessions.
    pub async fn private_message(&self, channel: Arc<ChannelRow>, sender: ParticipantRow, from_session: &str, recipient: ParticipantRow, to_session: Option<&str>, content: Payload) -> Result<Event> {
        self.check_pm_policy(&channel, &sender, &recipient).await?;
        let occupants = self.occupants(&channel.name).await?;
        let mut sessions: Vec<String> = occupants.iter().filter(|o| o.jid == recipient.jid).map(|o| o.full_jid.to_string()).collect();
        if sessions.is_empty() && !recipient.via_mix {
            return Err(Error::item_not_found().with_text("no such participant in this channel"));
        }
        if !sessions.is_empty() {
            if sender.nick.is_none() {
                return Err(Error::not_acceptable("set a nick in this channel before sending private messages"));
            }
            if let Some(token) = to_session {
                let mut named = Vec::new();
                for s in &sessions {
                    if self.session_token(&channel.name, s).await? == token {
                        named.push(s.clone());
                    }
                }
                // A session that has gone: every other session of the user.
                if !named.is_empty() {
                    sessions = named;
                }
            }
        }
        tracing::debug!(channel = %channel.name, to = %recipient.participant_id, sessions = sessions.len(), "private message relayed");
        Ok(Event::PrivateMessage(Arc::new(PrivateMessage { channel, sender, from_session: from_session.to_string(), recipient, sessions, content })))
    }

    /// The room's private-message policy (`allow_pm`): `anyone`,
    /// `participants` (not visitors), `moderators`, `none`. A message to
    /// oneself is always allowed; one to a participant whose preference
    /// blocks them (XEP-0404 'Private Messages') is not. Refused with
    /// `policy-violation`, as Prosody's restrict_pm does.
    pub async fn check_pm_policy(&self, channel: &ChannelRow, sender: &ParticipantRow, recipient: &ParticipantRow) -> Result<()> {
        if sender.jid == recipient.jid {
            return Ok(());
        }
        if !recipient.prefs.private_messages {
            return Err(Error::policy_violation("this participant does not accept private messages"));
        }
        let affiliation = self.acting_affiliation(&self.affiliations(&channel.name).await?, &sender.jid);
        let role = role_of(sender, affiliation, channel);
        let (allowed, who) = match channel.allow_pm.as_str() {
            "anyone" => (true, ""),
            "participants" => (role != Role::Visitor, "from visitors"),
            "moderators" => (role == Role::Moderator, "from non-moderators"),
            _ => (false, "in this room"),
        };
        if allowed {
            return Ok(());
        }
        tracing::debug!(room = %channel.name, policy = %channel.allow_pm, role = role.as_str(), "private message refused by the room's policy");
        Err(Error::policy_violation(format!("Private messages are restricted {who}")))
    }
}
