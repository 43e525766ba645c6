//! Sessions that went away without saying so. A user's server that
//! disappears never sends an unavailable presence: its MUC sessions would
//! stay occupants and its MIX clients stay online in the presence node
//! forever. When something the service sent a session bounces with an
//! error that says the session is gone, the front end (`crate::bounce`)
//! asks the channel to remove it, as Prosody's MUC does: the MUC view shows
//! it leave (status 333), the MIX view shows the client go offline.

use xmpp_parsers::jid::{BareJid, FullJid};

use super::event::Event;
use super::Channels;
use crate::error::Result;

impl Channels {
    /// Removes session `full` from channel `name`: as a MUC occupant
    /// (`Exited` with `failed`) and as an online MIX client, whichever it
    /// is. `leaving`: the serialised unavailable presence to show (its
    /// status says why). Nothing when it is neither.
    #[tracing::instrument(skip(self, leaving), fields(session = %full), level = "info")]
    pub async fn session_failed(&self, name: &str, full: &FullJid, leaving: Option<String>) -> Result<Vec<Event>> {
        let mut events = self.exit_as(name, full, leaving, true).await?;
        events.extend(self.mix_client_presence(name, full, None).await?);
        if !events.is_empty() {
            tracing::info!(channel = %name, "session removed after a delivery error");
        }
        Ok(events)
    }

    /// Removes every session of `user` from channel `name` (its server is
    /// unreachable): each MUC session and each online MIX client. The
    /// participant stays a participant (MIX membership outlives sessions).
    pub async fn user_unreachable(&self, name: &str, user: &BareJid, leaving: Option<String>) -> Result<Vec<Event>> {
        let mut sessions: Vec<String> = self.occupants(name).await?.iter().filter(|o| o.jid == user.as_str()).map(|o| o.full_jid.to_string()).collect();
        sessions.extend(self.mix_clients(name).await?.iter().filter(|c| c.jid == user.as_str()).map(|c| c.full_jid.clone()));
        sessions.sort();
        sessions.dedup();
        let mut events = Vec::new();
        for s in sessions {
            let Ok(full) = s.parse::<FullJid>() else { continue };
            events.extend(self.session_failed(name, &full, leaving.clone()).await?);
        }
        Ok(events)
    }
}
