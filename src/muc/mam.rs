//! XEP-0313 MAM on a room JID (MUC view): the same archive and ids, each
//! message forwarded as the room shows it (from `room/nick`).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::history::With;
use crate::error::Result;
use crate::router::Reply;
use crate::service::{Service, View};

pub async fn query(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    crate::mam::query(svc, View::Muc, room, from, payload, |w| with_filter(svc, room, w), |ch, row| super::render::archived(svc, ch, row)).await
}

/// `with` on a room archive: `room@muc/nick` names an occupant by nick.
fn with_filter(svc: &Service, room: &str, with: &str) -> With {
    match with.parse::<Jid>() {
        Ok(j) if j.to_bare() == svc.channel_jid(View::Muc, room) => match j.resource() {
            Some(r) => With::Nick(r.to_string()),
            None => With::Jid(with.to_string()),
        },
        Ok(j) => With::Jid(j.to_bare().to_string()),
        Err(_) => With::Jid(with.to_string()),
    }
}
