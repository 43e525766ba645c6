//! Requests (IQ get/set) one participant sends another through the channel
//! (XEP-0045: IQs to `room@muc/nick`; XEP-0403 §4.5 and XEP-0404 "Requesting
//! vCard": IQs to proxy JIDs). The channel decides who may ask whom and which
//! real JID the request goes to; the front ends address it, send it on and
//! carry the answer back (`crate::relay`), so neither real JID is shown.
//!
//! - A profile request (vCard) goes to the target's real bare JID, whose
//!   server answers for the user (XEP-0045 and XEP-0404 both say so); it is
//!   not subject to the room's private-message policy (a vCard is what the
//!   user publishes to anyone), but to the target's XEP-0404 `vCard`
//!   preference: `block` refuses it (`service-unavailable`).
//! - Any other request (ping, version, disco, time…) goes to one online
//!   session of the target: the one the request names (a proxy full JID's
//!   session part), else the most recent of its MUC sessions (by when it
//!   entered) and online MIX clients (by their last presence); a tie goes
//!   to the greater full JID, so the choice is deterministic. It reaches the
//!   target's client as a private message would, so the room's
//!   private-message policy (`check_pm_policy`) applies.

use super::Channels;
use crate::error::{Error, Result};
use crate::store::{ChannelRow, ParticipantRow};

/// What is asked, as far as the channel cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A vCard (vcard-temp or vCard4): answered by the target's server.
    Profile,
    /// Anything else: answered by one of the target's clients.
    Session,
}

impl Channels {
    /// The real JID a request from `sender` to `target` goes to (see the
    /// module comment). `to_session`: the session part of a proxy full JID
    /// (a session token, or where the target's JID is shown the client's
    /// own resource). Errors: `policy-violation` (the room's
    /// private-message policy), `item-not-found` (no such session),
    /// `service-unavailable` (the target has no online session, as a server
    /// answers an IQ to a full JID with no resource behind it, RFC 6120
    /// §8.5.3.1).
    pub async fn relay_target(&self, channel: &ChannelRow, sender: &ParticipantRow, target: &ParticipantRow, to_session: Option<&str>, kind: RequestKind) -> Result<String> {
        if kind == RequestKind::Profile {
            // XEP-0404 'vCard' preference (`allow` by default here: docs/mix.md).
            if !target.prefs.vcard && sender.jid != target.jid {
                return Err(Error::service_unavailable().with_text("this participant does not share its vCard through the channel"));
            }
            return Ok(target.jid.clone());
        }
        self.check_pm_policy(channel, sender, target).await?;
        let name = channel.name.as_str();
        // (full JID, when it entered or last changed its MIX presence).
        let mut sessions: Vec<(String, i64)> = self.occupants(name).await?.iter().filter(|o| o.jid == target.jid).map(|o| (o.full_jid.to_string(), o.joined_at)).collect();
        sessions.extend(self.mix_clients(name).await?.iter().filter(|c| c.jid == target.jid).map(|c| (c.full_jid.clone(), c.updated_at)));
        if let Some(wanted) = to_session {
            for (full, _) in &sessions {
                let resource = full.split_once('/').map(|(_, r)| r);
                if (super::visibility::shows_jid(channel, target) && resource == Some(wanted)) || self.session_token(name, full).await? == wanted {
                    return Ok(full.clone());
                }
            }
            return Err(Error::item_not_found().with_text("no such session of this participant"));
        }
        sessions
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            .map(|(full, _)| full)
            .ok_or_else(|| Error::service_unavailable().with_text("the participant has no online session"))
    }
}
