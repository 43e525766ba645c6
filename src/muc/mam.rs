//! XEP-0313 MAM on a room JID (MUC view): the same archive and ids, each
//! message forwarded as the room shows it (from `room/nick`);
//! `with = room@muc/nick` names an occupant by nick.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::history::With;
use crate::error::Result;
use crate::service::Reply;
use crate::service::{Service, View};

pub async fn query(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let with = |w: &str| crate::mam::with_filter(svc, View::Muc, room, w, With::Nick);
    crate::mam::query(svc, View::Muc, room, from, payload, with, |ch, row| super::render::archived(svc, ch, row)).await
}
