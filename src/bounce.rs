//! Delivery errors bounced back for what the service sent (docs/muc.md
//! "Sessions that vanish", docs/mix.md): a message or presence error from
//! a user's session, or from its server, that says the session or the
//! server is gone. Shared by both views; the channel removes the sessions
//! (`channel::vanished`). Every other error is dropped, as before: errors
//! are never answered.
//!
//! - From a **full JID** (an occupant's session, an online MIX client),
//!   with one of `GONE` (as Prosody's MUC, whose list also has
//!   internal-server-error, jid-malformed and redirect; a presence error
//!   follows the same list, where Prosody removes on any): that session
//!   leaves the channel addressed.
//! - From a **bare JID** (a MIX participant's server, for what went to its
//!   bare JID) with `remote-server-not-found` or `remote-server-timeout`:
//!   the server is unreachable, so every session of the user leaves the
//!   channel; it stays a participant. Other errors from a bare JID say
//!   nothing about sessions (a server refusing one message).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza_error::{DefinedCondition, StanzaError};

use crate::error::Result;
use crate::service::{Reply, Service};
use crate::xmpp::presence;

/// Conditions that say the session is gone (RFC 6120 §8.3.3).
pub(crate) fn session_gone(c: &DefinedCondition) -> bool {
    use DefinedCondition::*;
    matches!(c, Gone { .. } | ItemNotFound | RecipientUnavailable | RemoteServerNotFound | RemoteServerTimeout | ServiceUnavailable)
}

/// Conditions that say the user's server cannot be reached.
fn server_gone(c: &DefinedCondition) -> bool {
    matches!(c, DefinedCondition::RemoteServerNotFound | DefinedCondition::RemoteServerTimeout)
}

/// The `<error/>` among a stanza's payloads.
fn condition(payloads: &[Element]) -> Option<DefinedCondition> {
    let e = payloads.iter().find(|p| p.name() == "error")?;
    StanzaError::try_from(e.clone()).ok().map(|e| e.defined_condition)
}

/// An error stanza (message or presence, its `payloads`) from `from` to
/// something of channel `name`: the sessions it says are gone leave.
pub async fn handle(svc: &Service, name: &str, from: &Jid, payloads: &[Element]) -> Result<Reply> {
    let Some(cond) = condition(payloads) else { return Ok(Reply::none()) };
    if svc.channels.get(name).await?.is_none() {
        return Ok(Reply::none());
    }
    let events = match from.clone().try_into_full() {
        Ok(full) if session_gone(&cond) => svc.channels.session_failed(name, &full, leaving(&cond), "delivery error").await?,
        Err(bare) if server_gone(&cond) => svc.channels.user_unreachable(name, &bare, leaving(&cond), "server unreachable").await?,
        _ => vec![],
    };
    if events.is_empty() {
        tracing::debug!(channel = %name, condition = ?cond, "error from no session of the channel, or not about delivery; dropped");
    }
    Ok(Reply::events(None, events))
}

/// The unavailable presence shown for a removed session: "Kicked: <the
/// condition, in words>" as its status, as Prosody writes it.
pub(crate) fn leaving(c: &DefinedCondition) -> Option<String> {
    use DefinedCondition::*;
    let words = match c {
        Gone { .. } => "gone",
        ItemNotFound => "item not found",
        RecipientUnavailable => "recipient unavailable",
        RemoteServerNotFound => "remote server not found",
        RemoteServerTimeout => "remote server timeout",
        ServiceUnavailable => "service unavailable",
        _ => "delivery error",
    };
    kicked(words)
}

/// The unavailable presence shown for a session the service removed:
/// "Kicked: `words`" as its status.
pub(crate) fn kicked(words: &str) -> Option<String> {
    let mut p = Presence::new(PresenceType::Unavailable);
    p.statuses.insert(Default::default(), format!("Kicked: {words}"));
    presence::leaving(&p)
}
