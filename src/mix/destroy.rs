//! `<destroy channel='…'/>` to the MIX service (XEP-0369 "Destroying a
//! Channel"): owners and service admins only; the channel leaves both views.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::names;
use crate::error::Result;
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::Destroy;

pub async fn handle(svc: &Service, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: Destroy = super::parse(payload)?;
    let name = names::normalise(&req.channel)?;
    let event = svc.channels.destroy(&name, &from.to_bare(), svc.keep_archive).await?;
    Ok(Reply::events(None, vec![event]))
}
