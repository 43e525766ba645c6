//! Housekeeping of sessions never refreshed (docs/muc.md "Housekeeping",
//! docs/mix.md "Clients that vanish"). Shared by both views, like
//! `bounce`, which removes a session when something sent to it bounces: a
//! session in a quiet room is sent nothing, so a ghost there would stay.
//!
//! Every round (a quarter of `[service] idle_session_check_secs`), the
//! sessions with no sign of life for longer than the check time (the
//! store's `seen_at`: entering, a presence; any other stanza from the
//! session to the channel is noted here in memory, `IdleSweep::heard`, and
//! written to the store only when the session comes up in a round) are
//! asked, the longest silent first, at most `idle_session_pings_per_round`:
//!
//! - an XEP-0199 ping from the room's JID (`room@muc`, a MUC occupant) or
//!   the channel's (`channel@mix`, an online MIX client), never from another
//!   participant's JID, with an id of our own (`time_sorted_id`, as the
//!   relay's: ids cannot collide) remembered under the session;
//! - a result, or `feature-not-implemented` (only the client itself says
//!   that), or an error that says nothing about delivery: the session is
//!   there; its `seen_at` is refreshed;
//! - `service-unavailable` is ambiguous: a client without XEP-0199 must
//!   answer it (XEP-0199 §4), and a server answers it for a full JID with
//!   no session (RFC 6120 §10.5.3.1; Prosody's mod_iq does). The session
//!   is then asked its disco#info (every client with entity capabilities
//!   answers): a result says it is there, `service-unavailable` again that
//!   it is gone;
//! - the other conditions of `bounce::session_gone` (`gone`,
//!   `item-not-found`, `recipient-unavailable`, `remote-server-not-found`,
//!   `remote-server-timeout`): gone;
//! - no answer by the next round: gone.
//!
//! A session found gone is removed as a bounce removes it
//! (`Channels::session_failed`: status 333 in the MUC view, unavailable in
//! the MIX presence node), with the status "Kicked: <why>". An answer is
//! taken only from the JID pinged, to the JID it was pinged from, with the
//! id it was sent (an error with another id changes nothing; a result from
//! the session is a sign of life whatever its id, as any stanza from it
//! is: with several instances, it may answer another instance's ping). What waits for an answer is bounded (`CAPACITY`,
//! dropped after two rounds): an entry lost early only means the session
//! is pinged again.

pub(crate) mod state;

use state::{heard_key, Asked, Probe, Session};

use tracing::Instrument;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::FullJid;
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::DefinedCondition;

use crate::channel::ids::time_sorted_id;
use crate::error::Result;
use crate::outgoing::Out;
use crate::service::{Reply, Service, View};
use crate::store::now_ms;
use crate::{bounce, xmpp};

impl Service {
    /// One round of the idle-session check at `now` (ms
    /// since the epoch; the dispatcher passes the clock's): the pings to
    /// send, then the removals of sessions that did not answer, rendered.
    /// The pings go out even when a removal cannot be rendered: they are
    /// remembered as sent.
    pub async fn idle_sweep(&self, now: i64) -> Vec<Out> {
        async {
            let reply = match self.idle_round(now).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(error = %e, "idle-session round failed");
                    return vec![];
                }
            };
            let mut out: Vec<Out> = reply.after.into_iter().map(Out::from).collect();
            for ev in &reply.events {
                if let Err(e) = self.render(ev, &mut out).await {
                    tracing::error!(error = %e, "idle-session round: a removal not rendered");
                }
            }
            out
        }
        .instrument(tracing::debug_span!("idle_sweep", now))
        .await
    }

    /// One round of the idle-session check at time `now` (ms): the pings
    /// to send, and the removals of sessions that did not answer the
    /// previous round's, as events. Nothing when the check is off.
    pub(crate) async fn idle_round(&self, now: i64) -> Result<Reply> {
        let sweep = &self.sweep;
        let mut reply = Reply::none();
        if sweep.check_ms() == 0 {
            return Ok(reply);
        }
        let before = now.saturating_sub(sweep.check_ms());
        // Twice the pings: those asked last round (awaiting their answer or
        // overdue) are among the longest silent.
        let idle = self.channels.idle_sessions(before, 2 * sweep.max_pings()).await?;
        let mut pings = 0;
        for row in idle {
            let Ok(full) = row.full_jid.parse::<FullJid>() else { continue };
            if let Some(t) = sweep.heard_at(&heard_key(&row.channel, &row.full_jid)).await.filter(|t| *t >= before) {
                if let Err(e) = self.channels.session_seen(&row.channel, &full, t).await {
                    tracing::error!(channel = %row.channel, session = %row.full_jid, error = %e, "idle-session check: a sign of life not recorded");
                }
                continue;
            }
            let view = if row.mix { View::Mix } else { View::Muc };
            let session: Session = (row.mix, row.channel.clone(), row.full_jid.clone());
            match sweep.asked().get(&session).await {
                Some(asked) if sweep.overdue(&asked, now) => {
                    sweep.asked().invalidate(&session).await;
                    // One session that cannot be removed does not stop the round.
                    match self.channels.session_failed(&row.channel, &full, bounce::kicked("no answer to ping"), "no answer to the idle-session ping").await {
                        Ok(events) => reply.events.extend(events),
                        Err(e) => tracing::error!(channel = %row.channel, session = %row.full_jid, error = %e, "idle-session check: a silent session not removed"),
                    }
                }
                Some(_) => {}
                None if pings < sweep.max_pings() => {
                    pings += 1;
                    let id = time_sorted_id();
                    tracing::debug!(channel = %row.channel, session = %row.full_jid, silent_ms = now - row.seen_at, ping_id = %id, "idle session pinged");
                    reply.after.push(self.probe(view, &row.channel, full, &id, Probe::Ping));
                    sweep.asked().insert(session, Asked { id, probe: Probe::Ping, at: now }).await;
                }
                None => {}
            }
        }
        if pings == sweep.max_pings() {
            tracing::debug!(pings, "idle-session round reached its cap; the rest wait for the next round");
        }
        Ok(reply)
    }

    /// The question `probe` to session `to`, from channel `name`'s JID in `view`.
    fn probe(&self, view: View, name: &str, to: FullJid, id: &str, probe: Probe) -> Stanza {
        let payload = match probe {
            Probe::Ping => xmpp::el("ping", xmpp::ns::PING, &[]),
            Probe::DiscoInfo => xmpp::el("query", xmpp::ns::DISCO_INFO, &[]),
        };
        Stanza::Iq(Iq::Get { from: Some(self.channel_jid(view, name).into()), to: Some(to.into()), id: id.to_string(), payload })
    }

    /// An IQ result or error that may answer the sweep: None when it
    /// answers nothing asked here (from another JID, to another, another
    /// id). A result from a session to a channel's JID that answers nothing
    /// asked here is still a sign of life, written to the store at once:
    /// with several instances it may answer another's ping.
    pub(crate) async fn idle_answer(&self, iq: &Iq) -> Option<Result<Reply>> {
        let (id, from, to, error) = match iq {
            Iq::Result { id, from, to, .. } => (id, from.as_ref()?, to.as_ref()?, None),
            Iq::Error { id, from, to, error, .. } => (id, from.as_ref()?, to.as_ref()?, Some(&error.defined_condition)),
            Iq::Get { .. } | Iq::Set { .. } => return None,
        };
        if self.sweep.check_ms() == 0 || to.resource().is_some() {
            return None;
        }
        let (view, name, full) = (self.view_of(to.domain().as_str())?, to.node()?.as_str(), from.clone().try_into_full().ok()?);
        let session: Session = (view == View::Mix, name.to_string(), full.to_string());
        match self.sweep.asked().get(&session).await.filter(|a| a.id == *id) {
            Some(asked) => Some(self.idle_answered(session, full, asked, error).await),
            None if error.is_none() => Some(self.channels.session_seen(name, &full, now_ms()).await.map(|_| Reply::none())),
            None => None,
        }
    }

    async fn idle_answered(&self, session: Session, full: FullJid, asked: Asked, error: Option<&DefinedCondition>) -> Result<Reply> {
        let (view, name) = (if session.0 { View::Mix } else { View::Muc }, session.1.clone());
        let sweep = &self.sweep;
        match error {
            Some(DefinedCondition::ServiceUnavailable) if asked.probe == Probe::Ping => {
                let id = time_sorted_id();
                tracing::debug!(channel = %name, session = %full, probe_id = %id, "ping answered service-unavailable; asking disco#info");
                let request = self.probe(view, &name, full, &id, Probe::DiscoInfo);
                sweep.asked().insert(session, Asked { id, probe: Probe::DiscoInfo, ..asked }).await;
                Ok(Reply { after: vec![request], ..Reply::none() })
            }
            Some(c) if bounce::session_gone(c) => {
                sweep.asked().invalidate(&session).await;
                let events = self.channels.session_failed(&name, &full, bounce::leaving(c), "error answer to the idle-session ping").await?;
                Ok(Reply::events(None, events))
            }
            _ => {
                sweep.asked().invalidate(&session).await;
                // The round's `now` in tests may be ahead of the clock.
                self.channels.session_seen(&name, &full, now_ms().max(asked.at)).await?;
                tracing::debug!(channel = %name, session = %full, condition = ?error, "idle session answered; kept");
                Ok(Reply::none())
            }
        }
    }
}
