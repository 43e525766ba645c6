//! Messages to a room (XEP-0045 §7.4): groupchat from an occupant is
//! archived once and reflected to both views. A groupchat carrying only a
//! subject changes the room's subject (`Channels::change_subject`). Private messages to
//! `room/nick` (`private`), invitations and declines (`invite`) and voice
//! requests (`voice`) have their own files.

use std::sync::Arc;

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message, MessageType};

use crate::channel::post::PendingPost;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::{ChannelRow, OccupantRow};
use crate::xmpp::{content, retract};

pub async fn handle(svc: &Service, channel: Arc<ChannelRow>, to_nick: Option<&str>, m: &Message) -> Result<Reply> {
    let from = sender(m)?;
    let room = channel.name.as_str();
    match (to_nick, &m.type_) {
        (_, MessageType::Error) => Ok(Reply::none()),
        (Some(nick), _) => super::private::handle(svc, channel.clone(), nick, m).await,
        (None, MessageType::Groupchat) if retract::target(m).is_some() => {
            super::retract::handle(svc, channel.clone(), m, retract::target(m).expect("checked")).await
        }
        (None, MessageType::Groupchat) if content::is_subject_change(m) => {
            check_present(svc, room, from).await?;
            let subject = m.subjects.values().next().cloned().unwrap_or_default();
            let event = svc.channels.change_subject(room, &from.to_bare(), &subject, svc.new_post(room, m)).await?;
            Ok(Reply::events(None, vec![event]))
        }
        (None, MessageType::Groupchat) => {
            let event = svc.channels.commit_post(prepare(svc, channel.clone(), m).await?).await?;
            Ok(Reply::events(None, vec![event]))
        }
        (None, MessageType::Normal) if super::invite::is_user_x(m) => super::invite::handle(svc, room, m).await,
        (None, MessageType::Normal) if super::voice::is_request(m) => super::voice::handle(svc, room, m).await,
        (None, _) => Err(Error::bad_request("only groupchat messages are accepted by the room")),
    }
}

/// A plain groupchat to the room (not a subject change): checked and ready
/// to archive. `handle` commits it at once; the dispatcher's batch path
/// commits several together.
pub async fn prepare(svc: &Service, channel: Arc<ChannelRow>, m: &Message) -> Result<PendingPost> {
    let from = sender(m)?;
    let occupants = check_present(svc, &channel.name, from).await?;
    // Voice is checked there.
    let post = svc.new_post(&channel.name, m);
    svc.channels.prepare_post(channel, Some(occupants), &from.to_bare(), post).await
}

fn sender(m: &Message) -> Result<&Jid> {
    m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))
}

/// The sending session is in the room; returns the room's occupants.
async fn check_present(svc: &Service, room: &str, from: &Jid) -> Result<Arc<Vec<OccupantRow>>> {
    let occupants = svc.channels.occupants(room).await?;
    if !occupants.iter().any(|o| o.full_jid.as_str() == from.as_str()) {
        return Err(Error::not_in_room());
    }
    Ok(occupants)
}
