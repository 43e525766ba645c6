//! Per-sender rate limits in each channel, for both views (`[limits]`):
//! a token bucket per (channel, sender's bare JID, kind), as Prosody's
//! mod_muc_limits does for MUC. A sender has `burst` tokens; each message
//! (or presence) takes one; tokens come back at `rate` per second. With
//! none left the stanza is refused with `resource-constraint` (wait) and
//! nothing is archived or sent. Affiliated users (member and up, service
//! admins) are exempt when the configuration says so; that is looked up
//! only when a bucket is empty, so the common case costs one cache lookup.

use std::time::{Duration, Instant};

use xmpp_parsers::jid::BareJid;

use super::roles::Affiliation;
use super::Channels;
use crate::config::LimitsConfig;
use crate::error::{Error, Result};

/// Buckets kept at most (the idle ones go first: a full bucket needs none).
const MAX_BUCKETS: u64 = 200_000;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Message,
    Presence,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    rate: f64,
    burst: f64,
}

/// The limits and their buckets.
pub struct Limits {
    message: Option<Rule>,
    presence: Option<Rule>,
    exempt_affiliated: bool,
    /// Channels per creator and per creator's domain (0: none).
    channels_per_user: i64,
    channels_per_domain: i64,
    buckets: moka::sync::Cache<(String, String, Kind), Bucket>,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig) -> Self {
        let rule = |rate: f64, burst: u32| (rate > 0.0).then_some(Rule { rate, burst: f64::from(burst.max(1)) });
        let (message, presence) = (rule(cfg.message_rate, cfg.message_burst), rule(cfg.presence_rate, cfg.presence_burst));
        // A bucket idle for long enough to be full again is the same as none.
        let refill = [message, presence].iter().flatten().map(|r| r.burst / r.rate).fold(1.0, f64::max);
        let buckets = moka::sync::Cache::builder().max_capacity(MAX_BUCKETS).time_to_idle(Duration::from_secs_f64(refill.min(86_400.0) + 1.0)).build();
        Limits { message, presence, exempt_affiliated: cfg.exempt_affiliated, channels_per_user: cfg.channels_per_user, channels_per_domain: cfg.channels_per_domain, buckets }
    }

    /// Takes a token; false when there is none.
    fn take(&self, key: (String, String, Kind), rule: Rule, now: Instant) -> bool {
        let mut b = self.buckets.get(&key).unwrap_or(Bucket { tokens: rule.burst, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rule.rate).min(rule.burst);
        b.at = now;
        let ok = b.tokens >= 1.0;
        if ok {
            b.tokens -= 1.0;
        }
        self.buckets.insert(key, b);
        ok
    }
}

impl Channels {
    /// The creation quotas (`[limits] channels_per_user`, `channels_per_domain`):
    /// `policy-violation` when `creator` or its server has created as many
    /// channels as allowed (those that still exist). Service admins are not
    /// limited.
    pub(crate) async fn check_creation_quota(&self, creator: &BareJid) -> Result<()> {
        let limits = &self.limits;
        if self.rights.is_admin(creator) || (limits.channels_per_user <= 0 && limits.channels_per_domain <= 0) {
            return Ok(());
        }
        let (by_user, by_domain) = self.store.channels_created(creator.as_str()).await?;
        if limits.channels_per_user > 0 && by_user >= limits.channels_per_user {
            tracing::info!(creator = %creator, by_user, "channel creation refused: the user's quota is reached");
            return Err(Error::policy_violation(format!("you have created {by_user} channels, the most allowed here")));
        }
        if limits.channels_per_domain > 0 && by_domain >= limits.channels_per_domain {
            tracing::info!(creator = %creator, by_domain, "channel creation refused: the server's quota is reached");
            return Err(Error::policy_violation("the users of your server have created the most channels allowed here"));
        }
        Ok(())
    }

    /// Counts one `kind` from `sender` in channel `name`: `resource-constraint`
    /// (wait) when the sender is over its limit and not exempt.
    pub(crate) async fn check_rate(&self, name: &str, sender: &BareJid, kind: Kind) -> Result<()> {
        let limits = &self.limits;
        let Some(rule) = (match kind {
            Kind::Message => limits.message,
            Kind::Presence => limits.presence,
        }) else {
            return Ok(());
        };
        if limits.take((name.to_string(), sender.to_string(), kind), rule, Instant::now()) {
            return Ok(());
        }
        if limits.exempt_affiliated && self.acting_affiliation(&self.affiliations(name).await?, sender.as_str()) >= Affiliation::Member {
            return Ok(());
        }
        tracing::info!(channel = %name, sender = %sender, ?kind, "over the rate limit: refused");
        Err(Error::resource_constraint("you are sending too fast; wait a moment"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let cfg = LimitsConfig { message_rate: 2.0, message_burst: 3, ..LimitsConfig::default() };
        let l = Limits::new(&cfg);
        let rule = l.message.unwrap();
        let t0 = Instant::now();
        let key = || ("room".to_string(), "a@b".to_string(), Kind::Message);
        assert!((0..3).all(|_| l.take(key(), rule, t0)), "the burst");
        assert!(!l.take(key(), rule, t0), "then none");
        assert!(l.take(key(), rule, t0 + Duration::from_millis(500)), "one back after 1/rate");
        assert!(!l.take(key(), rule, t0 + Duration::from_millis(600)));
        assert!((0..3).all(|_| l.take(key(), rule, t0 + Duration::from_secs(60))), "never more than the burst");
        assert!(!l.take(key(), rule, t0 + Duration::from_secs(60)));
        assert!(l.take(("room".into(), "other@b".into(), Kind::Message), rule, t0), "per sender");
    }
}
