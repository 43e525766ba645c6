//! XEP-0313 MAM on a channel JID (MIX view): results in MIX form.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;

use crate::channel::history::With;
use crate::error::Result;
use crate::router::Reply;
use crate::service::{Service, View};

pub async fn query(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    crate::mam::query(svc, View::Mix, channel, from, payload, |w| with_filter(svc, channel, w), |ch, row| super::render::archived(svc, ch, row)).await
}

/// `with` on a MIX archive: `channel@mix/participant-id` names a
/// participant; any other JID is a real bare JID.
fn with_filter(svc: &Service, channel: &str, with: &str) -> With {
    match with.parse::<Jid>() {
        Ok(j) if j.to_bare() == svc.channel_jid(View::Mix, channel) => match j.resource() {
            Some(r) => With::ParticipantId(r.to_string()),
            None => With::Jid(with.to_string()),
        },
        Ok(j) => With::Jid(j.to_bare().to_string()),
        Err(_) => With::Jid(BareJid::new(with).map(|b| b.to_string()).unwrap_or_else(|_| with.to_string())),
    }
}
