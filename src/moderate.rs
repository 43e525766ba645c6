//! XEP-0425 moderation requests, the same in both views: an IQ to the
//! room or channel naming a message by its archive id (stanza-id); the
//! moderator's right is `Channels::retract`'s to check. The outcome is
//! rendered by each view (`muc::retract`, `mix::retract`).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::retract::{RetractAs, RetractRequest};
use crate::error::Result;
use crate::service::{Reply, Service};
use crate::xmpp::retract::parse_moderate;

/// `<moderate id><retract/><reason/></moderate>` (or the older form):
/// an empty result, then the announcement to both views.
pub async fn handle(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req = parse_moderate(payload)?;
    let event = svc.channels.retract(channel, &from.to_bare(), RetractRequest { target: req.id, capacity: RetractAs::Moderator, reason: req.reason, submission_id: None }).await?;
    Ok(Reply::events(None, vec![event]))
}
