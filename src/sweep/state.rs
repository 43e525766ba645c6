//! What the idle-session check remembers between rounds (`super`): the
//! questions waiting for an answer, and each session's latest stanza.

use std::time::Duration;

use xmpp_parsers::jid::Jid;

use crate::config::ServiceConfig;
use crate::store::now_ms;

/// Sessions whose latest stanza is remembered.
const HEARD_CAPACITY: u64 = 200_000;

/// The question asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    Ping,
    /// After a ping answered `service-unavailable`.
    DiscoInfo,
}

/// A question waiting for its answer.
#[derive(Debug, Clone)]
pub(super) struct Asked {
    pub id: String,
    pub probe: Probe,
    /// When the round that pinged it ran (ms).
    pub at: i64,
}

/// (asked from the MIX channel, else the MUC room; channel; session's full JID).
pub(super) type Session = (bool, String, String);

/// What the sweep remembers between rounds.
pub struct IdleSweep {
    /// Silence (ms) after which a session is asked; 0: never.
    check_ms: i64,
    max_pings: usize,
    asked: moka::future::Cache<Session, Asked>,
    /// The latest stanza (ms) from each session to a channel, by
    /// `heard_key`.
    heard: moka::future::Cache<String, i64>,
}

impl IdleSweep {
    pub fn new(cfg: &ServiceConfig) -> Self {
        let check_ms = i64::try_from(cfg.idle_session_check_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let keep = Duration::from_millis(check_ms.max(1000) as u64);
        IdleSweep {
            check_ms,
            max_pings: cfg.idle_session_pings_per_round,
            // At most max_pings new entries a round, each kept two rounds.
            asked: moka::future::Cache::builder().max_capacity(4 * cfg.idle_session_pings_per_round as u64).time_to_live(keep / 2).build(),
            heard: moka::future::Cache::builder().max_capacity(HEARD_CAPACITY).time_to_live(keep).build(),
        }
    }

    /// How often a round runs: a quarter of the check time. None: off.
    pub fn period(&self) -> Option<Duration> {
        (self.check_ms > 0).then(|| Duration::from_millis((self.check_ms / 4).max(1) as u64))
    }

    /// A question unanswered for half a round is overdue at the next round.
    pub(super) fn overdue(&self, asked: &Asked, now: i64) -> bool {
        now - asked.at >= self.check_ms / 8
    }

    pub(super) fn check_ms(&self) -> i64 {
        self.check_ms
    }

    pub(super) fn max_pings(&self) -> usize {
        self.max_pings
    }

    pub(super) fn asked(&self) -> &moka::future::Cache<Session, Asked> {
        &self.asked
    }

    /// When the session of `key` (`heard_key`) last sent its channel a stanza, if remembered.
    pub(super) async fn heard_at(&self, key: &str) -> Option<i64> {
        self.heard.get(key).await
    }

    /// A stanza from session `from` to channel `name` arrived: it is alive.
    pub async fn heard(&self, name: &str, from: &Jid) {
        if self.check_ms == 0 || from.resource().is_none() {
            return;
        }
        self.heard.insert(heard_key(name, from.as_str()), now_ms()).await;
    }
}

pub(super) fn heard_key(name: &str, full: &str) -> String {
    format!("{name}\u{0}{full}")
}

