//! Presence from a session already in the room, with the nick it has
//! (XEP-0045 7.7, changing availability status): the new show, status and
//! payloads are kept and reflected to every occupant. Also records what an
//! entering session or a nick change says, and a leaving session's status.

use xmpp_parsers::jid::FullJid;
use xmpp_parsers::presence::Presence;

use crate::error::Result;
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::presence;

/// A same-nick presence from a session in the room.
pub async fn update(svc: &Service, room: &str, full: &FullJid, p: &Presence) -> Result<Reply> {
    let events = svc.channels.update_session_presence(room, full, presence::stored(p)).await?;
    Ok(Reply::events(None, events))
}

/// Keeps what an entering session (or one changing its nick) says, before
/// the others are told.
pub async fn record(svc: &Service, room: &str, full: &FullJid, p: &Presence) -> Result<()> {
    svc.channels.set_session_presence(room, full, presence::stored(p).as_deref()).await?;
    Ok(())
}

/// What the room shows for the user before a session enters (see `entered`).
pub async fn before_entering(svc: &Service, room: &str, full: &FullJid) -> Result<Option<Option<String>>> {
    svc.channels.shown_presence(room, &full.to_bare()).await
}

/// After a session entered (or resynchronised) and its presence was
/// recorded: if the room already showed the user and now shows something
/// else, the others get the change.
pub async fn entered(svc: &Service, room: &str, full: &FullJid, before: Option<Option<String>>) -> Result<Vec<crate::channel::event::Event>> {
    svc.channels.session_shown_change(room, full, before).await
}

/// A session leaves; its unavailable presence's status goes to the others.
pub async fn leave(svc: &Service, room: &str, full: &FullJid, p: &Presence) -> Result<Reply> {
    Ok(Reply::events(None, svc.channels.exit_with(room, full, presence::leaving(p)).await?))
}
