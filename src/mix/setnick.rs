//! `<setnick/>` to a channel: returns the nick in use (PRECIS-normalised).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::SetNick;

pub async fn handle(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: SetNick = super::parse(payload)?;
    let raw = req.nick.ok_or_else(|| Error::bad_request("<setnick/> needs a <nick/>"))?;
    let (nick, events) = svc.channels.set_nick(channel, &from.to_bare(), &raw).await?;
    Ok(Reply::events(Some(SetNick { nick: Some(nick) }.into()), events))
}
