//! `<join/>` to a channel, from the participant's server (the user's bare
//! JID, XEP-0405) or straight from a client (its bare JID is used).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use super::jids::proxy_jid;
use crate::channel::access::EntryRefusal;
use crate::error::{Error, Result};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::{Join, Subscribe};

pub async fn handle(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: Join = super::parse(payload)?;
    if let Some(invitation) = &req.invitation {
        super::invite::accept(svc, channel, &from.to_bare(), invitation).await?;
    }
    let requested: Vec<String> = req.subscribe.into_iter().map(|s| s.node).collect();
    if let Some(refusal) = svc.channels.entry_refusal(channel, &from.to_bare()).await? {
        return Err(join_error(refusal));
    }
    // XEP-0404: preferences asked for in the join, all of them in the result.
    let prefs = req.form.as_ref().map(super::anon::parse_form).transpose()?;
    let (joined, events) = svc.channels.join(channel, &from.to_bare(), &requested, req.nick.as_deref(), &prefs.clone().unwrap_or_default()).await?;
    let id = joined.participant.participant_id.clone();
    let result = Join {
        jid: Some(proxy_jid(svc, channel, &id)),
        id: Some(id),
        channel: None,
        subscribe: joined.nodes.into_iter().map(|node| Subscribe { node }).collect(),
        nick: joined.participant.nick,
        invitation: None,
        form: prefs.map(|_| super::anon::result_form(&joined.participant.prefs)),
    };
    Ok(Reply::events(Some(result.into()), events))
}

/// How the channel says why the user may not join: as the MUC view does,
/// but `forbidden` for a members-only channel.
fn join_error(refusal: EntryRefusal) -> Error {
    match refusal {
        EntryRefusal::Locked => Error::item_not_found().with_text("this room is locked until its owner configures it"),
        EntryRefusal::MembersOnly => Error::forbidden("this channel is members-only"),
        EntryRefusal::Full => Error::new(ErrorType::Wait, DefinedCondition::ServiceUnavailable, Some("this room is full".to_string())),
    }
}
