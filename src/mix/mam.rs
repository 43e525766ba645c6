//! XEP-0313 MAM on a channel JID (MIX view): results in MIX form;
//! `with = channel@mix/<participant-id>` names a participant.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::history::With;
use crate::error::Result;
use crate::service::Reply;
use crate::service::{Service, View};

pub async fn query(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let with = |w: &str| crate::mam::with_filter(svc, View::Mix, channel, w, With::ParticipantId);
    crate::mam::query(svc, View::Mix, channel, from, payload, with, |_, row| super::render::archived(svc, row)).await
}
