//! JID visibility (XEP-0404): the channel's mode and each participant's
//! preferences, as stored. What they mean for who sees what is
//! `channel::roles`; their names on the wire are the front ends'.

use super::Store;
use crate::error::{Error, Result};

/// A channel's JID visibility mode (defined beside the service-wide
/// default for new channels).
pub use crate::config::JidVisibility;

/// A participant's JID visibility preference (XEP-0404 "User Preferences").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JidPreference {
    /// The channel's mode decides: shown only in a JID-visible channel.
    #[default]
    Default,
    /// Never shown; the participant is removed when the channel becomes JID-visible.
    Never,
    /// Always shown (also in a jid-maybe-visible channel); removed when the
    /// channel becomes JID-hidden.
    Always,
    /// Shown only in a JID-visible channel.
    PreferNot,
}

impl JidPreference {
    /// The stored value, which is also the seed's form value.
    pub fn as_str(self) -> &'static str {
        match self {
            JidPreference::Default => "default",
            JidPreference::Never => "never",
            JidPreference::Always => "always",
            JidPreference::PreferNot => "prefer not",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "default" => JidPreference::Default,
            "never" => JidPreference::Never,
            "always" => JidPreference::Always,
            "prefer not" => JidPreference::PreferNot,
            _ => return None,
        })
    }
}

/// A participant's preferences. The booleans: `true` is the seed's
/// `allow` / `share`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub jid: JidPreference,
    pub private_messages: bool,
    pub vcard: bool,
    pub presence: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        // vCard: `allow`, not the seed's `block` — XEP-0045 services relay
        // vCard requests to occupants and MUC clients fetch avatars so
        // (docs/mix.md, "User preferences").
        Preferences { jid: JidPreference::Default, private_messages: true, vcard: true, presence: true }
    }
}

/// `allow` / `block` and `share` / `not share`, as stored.
fn word(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b {
        yes
    } else {
        no
    }
}

impl Preferences {
    /// Read from the stored columns; an unknown value is the default one.
    pub(super) fn from_columns(jid: &str, pm: &str, vcard: &str, presence: &str) -> Self {
        Preferences { jid: JidPreference::parse(jid).unwrap_or_default(), private_messages: pm != "block", vcard: vcard != "block", presence: presence != "not share" }
    }
}

impl Store {
    /// Writes a participant's preferences. `item-not-found` when it is not one.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn set_preferences(&self, channel: &str, jid: &str, p: &Preferences) -> Result<()> {
        let done = sqlx::query("UPDATE participants SET pref_jid = $1, pref_pm = $2, pref_vcard = $3, pref_presence = $4 WHERE channel = $5 AND jid = $6")
            .bind(p.jid.as_str())
            .bind(word(p.private_messages, "allow", "block"))
            .bind(word(p.vcard, "allow", "block"))
            .bind(word(p.presence, "share", "not share"))
            .bind(channel)
            .bind(jid)
            .execute(&mut *self.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::item_not_found());
        }
        Ok(())
    }
}
