//! `<leave/>` to a channel: the participant is removed from every node.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::error::Result;
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::Leave;

pub async fn handle(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let _req: Leave = super::parse(payload)?;
    let events = svc.channels.leave(channel, &from.to_bare()).await?;
    Ok(Reply::events(Some(Leave { channel: None }.into()), events))
}
