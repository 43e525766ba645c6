//! Sessions that went away without saying so. A user's server that
//! disappears never sends an unavailable presence: its MUC sessions would
//! stay occupants and its MIX clients stay online in the presence node
//! forever. When something the service sent a session bounces with an
//! error that says the session is gone, the front end (`crate::bounce`)
//! asks the channel to remove it, as Prosody's MUC does: the MUC view shows
//! it leave (status 333), the MIX view shows the client go offline. A
//! session silent for long is asked whether it is still there
//! (`crate::sweep`): the sessions with no sign of life since a time, and
//! the sign of life an answer is, are here too.

use xmpp_parsers::jid::{BareJid, FullJid};

use super::event::Event;
use super::Channels;
use crate::error::Result;
use crate::store::IdleSessionRow;

impl Channels {
    /// Removes session `full` from channel `name`: as a MUC occupant
    /// (`Exited` with `failed`) and as an online MIX client, whichever it
    /// is. `leaving`: the serialised unavailable presence to show (its
    /// status says why); `cause`, for the log: what showed it gone.
    /// Nothing when it is neither.
    #[tracing::instrument(skip(self, leaving), fields(session = %full), level = "info")]
    pub async fn session_failed(&self, name: &str, full: &FullJid, leaving: Option<String>, cause: &str) -> Result<Vec<Event>> {
        let mut events = self.exit_as(name, full, leaving, true).await?;
        events.extend(self.mix_client_presence(name, full, None).await?);
        if !events.is_empty() {
            tracing::info!(channel = %name, cause, "session removed");
        }
        Ok(events)
    }

    /// Sessions of every channel (MUC occupants, online MIX clients) with
    /// no sign of life since `before` (ms), the longest silent first, at
    /// most `limit`.
    pub async fn idle_sessions(&self, before: i64, limit: usize) -> Result<Vec<IdleSessionRow>> {
        self.store.idle_sessions(before, limit).await
    }

    /// Session `full` of channel `name` showed a sign of life at `at` (ms).
    /// (The cached lists do not hold the time: nothing to forget.)
    pub async fn session_seen(&self, name: &str, full: &FullJid, at: i64) -> Result<bool> {
        self.store.session_seen(name, full.as_str(), at).await
    }

    /// Removes every session of `user` from channel `name` (its server is
    /// unreachable): each MUC session and each online MIX client. The
    /// participant stays a participant (MIX membership outlives sessions).
    pub async fn user_unreachable(&self, name: &str, user: &BareJid, leaving: Option<String>, cause: &str) -> Result<Vec<Event>> {
        let mut sessions: Vec<String> = self.occupants(name).await?.iter().filter(|o| o.jid == user.as_str()).map(|o| o.full_jid.to_string()).collect();
        sessions.extend(self.mix_clients(name).await?.iter().filter(|c| c.jid == user.as_str()).map(|c| c.full_jid.clone()));
        sessions.sort();
        sessions.dedup();
        let mut events = Vec::new();
        for s in sessions {
            let Ok(full) = s.parse::<FullJid>() else { continue };
            events.extend(self.session_failed(name, &full, leaving.clone(), cause).await?);
        }
        Ok(events)
    }
}
