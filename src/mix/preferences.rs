//! `<user-preference/>` (XEP-0404 "User Preferences"): a participant reads
//! the template form (every preference, its options and its value) and
//! sets some or all of them; the result gives them all. Preferences are
//! also set in the join (`join.rs`). What they do: `channel::visibility`.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use super::anon::{parse_form, result_form, submitted, template_form, user_preference};
use crate::error::{Error, Result};
use crate::service::{Reply, Service};

/// IQ get: the template form with the participant's current values.
pub async fn get(svc: &Service, channel: &str, from: &Jid) -> Result<Reply> {
    let me = svc.channels.require_participant(channel, &from.to_bare()).await?;
    Ok(Reply::payload(user_preference(template_form(&me.prefs))))
}

/// IQ set: the submitted form's preferences; refused (`not-acceptable`)
/// when the channel's mode contradicts the JID visibility asked for.
pub async fn set(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let form = submitted(payload).ok_or_else(|| Error::bad_request("<user-preference/> needs a submitted form"))?;
    let change = parse_form(&form)?;
    let (prefs, events) = svc.channels.set_preferences(channel, &from.to_bare(), &change).await?;
    Ok(Reply::events(Some(user_preference(result_form(&prefs))), events))
}
