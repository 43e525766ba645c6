//! Messages to a room (XEP-0045 §7.4): groupchat from an occupant is
//! archived once and reflected to both views. A groupchat carrying only a
//! subject also changes the room's subject. Private messages to
//! `room/nick` (`private`), invitations and declines (`invite`) and voice
//! requests (`voice`) have their own files.

use xmpp_parsers::message::{Message, MessageType};

use crate::error::{Error, Result};
use crate::router::Reply;
use crate::service::Service;

pub async fn handle(svc: &Service, room: &str, to_nick: Option<&str>, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    match (to_nick, &m.type_) {
        (_, MessageType::Error) => Ok(Reply::none()),
        (Some(nick), _) => super::private::handle(svc, room, nick, m).await,
        (None, MessageType::Groupchat) => {
            if svc.channels.occupant(room, &from.to_string()).await?.is_none() {
                return Err(Error::not_acceptable_cancel("you are not in this room"));
            }
            svc.channels.check_voice(room, &from.to_bare()).await?;
            if m.bodies.is_empty() && !m.subjects.is_empty() {
                let subject = m.subjects.values().next().cloned().unwrap_or_default();
                svc.channels.check_subject_change(room, &from.to_bare()).await?;
                svc.channels.set_subject(room, &from.to_bare(), &subject).await?;
            }
            let event = svc.channels.post(room, &from.to_bare(), m).await?;
            Ok(Reply::events(None, vec![event]))
        }
        (None, MessageType::Normal) if super::invite::is_user_x(m) => super::invite::handle(svc, room, m).await,
        (None, MessageType::Normal) if super::voice::is_request(m) => super::voice::handle(svc, room, m).await,
        (None, _) => Err(Error::bad_request("only groupchat messages are accepted by the room")),
    }
}
