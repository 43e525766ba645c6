//! `<create/>` to the MIX service: create a named or ad-hoc channel
//! (XEP-0369 "Creating a Channel").

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::error::Result;
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::Create;

pub async fn handle(svc: &Service, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: Create = super::parse(payload)?;
    let name = svc.channels.create(req.channel.as_deref(), &from.to_bare()).await?;
    Ok(Reply::payload(Create { channel: Some(name), form: None }.into()))
}
