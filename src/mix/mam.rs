//! XEP-0313 MAM on a channel JID, for participants: results in MIX form.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::history::With;
use crate::channel::ids;
use crate::error::Result;
use crate::router::Reply;
use crate::service::{Service, View};
use crate::xmpp::mam;

/// IQ get: the query form.
pub fn form() -> Reply {
    Reply::payload(mam::query_form())
}

/// IQ set: a query.
pub async fn query(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req = mam::parse(payload)?;
    let ch = svc.channels.require(channel).await?;
    svc.channels.require_participant(channel, &from.to_bare()).await?;
    let with = req.with.as_deref().map(|w| with_filter(svc, channel, w));
    let page = svc.channels.history(channel, &req, with).await?;
    let me = Jid::from(svc.channel_jid(View::Mix, channel));
    let mut before = Vec::with_capacity(page.rows.len());
    for row in &page.rows {
        let Some(inner) = super::render::archived(svc, &ch, row) else {
            tracing::error!(id = %row.id, "archived message unreadable; skipped");
            continue;
        };
        let mut m = Message::new_with_type(MessageType::Normal, Some(from.clone()));
        m.from = Some(me.clone());
        m.id = Some(Id(ids::archive_id()));
        m.payloads.push(mam::result_element(req.queryid.as_deref(), &row.id, &mam::stamp(row.ts), inner));
        before.push(Stanza::Message(m));
    }
    let (first, last) = (page.rows.first().map(|r| r.id.as_str()), page.rows.last().map(|r| r.id.as_str()));
    let fin = mam::fin(page.complete, first, last, Some(page.count));
    Ok(Reply { payload: Some(fin), before, events: vec![] })
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
