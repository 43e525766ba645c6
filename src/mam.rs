//! XEP-0313 on a channel's archive, shared by both views: parse the query,
//! check access, page through the one archive, render each message in the
//! asking view's form.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Id, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::history::{HistoryQuery, With};
use crate::channel::ids;
use crate::channel::visibility::JidFilter;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::{Service, View};
use crate::store::{ArchiveRow, ChannelRow};
use crate::xmpp::mam;

/// IQ get: the query form.
pub fn form() -> Reply {
    Reply::payload(mam::query_form())
}

/// IQ set: a query by a participant. `with` maps the view's `with` field
/// to a filter; `render` gives the forwarded message in `jabber:client`.
pub async fn query(
    svc: &Service,
    view: View,
    channel: &str,
    from: &Jid,
    payload: &Element,
    with: impl Fn(&str) -> Result<With>,
    render: impl Fn(&ChannelRow, &ArchiveRow) -> Option<Element>,
) -> Result<Reply> {
    let req = mam::parse(payload)?;
    let ch = svc.channels.require(channel).await?;
    let me = svc.channels.require_participant(channel, &from.to_bare()).await?;
    let with = req.with.as_deref().map(&with).transpose()?;
    // A real-JID filter tells which nick a JID writes under: all of it for
    // one's own JID and for moderators; for the others only the messages
    // that showed their sender's JID, and none in a jid-hidden channel.
    let mut jid_shown_only = false;
    if let Some(With::Jid(jid)) = &with {
        match svc.channels.jid_filter(&ch, &me, jid).await? {
            JidFilter::Every => {}
            JidFilter::ShownOnly => jid_shown_only = true,
            JidFilter::Refused => return Err(Error::forbidden("only moderators may filter this archive by real JID")),
        }
    }
    let query = HistoryQuery {
        start: req.start,
        end: req.end,
        after_id: req.after_id,
        before_id: req.before_id,
        ids: req.ids,
        with,
        jid_shown_only,
        max: req.max,
        after: req.after,
        before: req.before,
        flip: req.flip,
    };
    let page = svc.channels.history(channel, &query).await?;
    let me = Jid::from(svc.channel_jid(view, channel));
    let mut before = Vec::with_capacity(page.rows.len());
    for row in &page.rows {
        let Some(inner) = render(&ch, row) else {
            tracing::error!(id = %row.id, "archived message unreadable; skipped");
            continue;
        };
        let mut m = Message::new_with_type(MessageType::Normal, Some(from.clone()));
        m.from = Some(me.clone());
        m.id = Some(Id(ids::time_sorted_id()));
        m.payloads.push(mam::result_element(req.queryid.as_deref(), &row.id, &mam::stamp(row.ts), inner));
        before.push(Stanza::Message(m));
    }
    let (first, last) = (page.rows.first().map(|r| r.id.as_str()), page.rows.last().map(|r| r.id.as_str()));
    let fin = mam::fin(page.complete, first, last, Some(page.count));
    Ok(Reply { payload: Some(fin), before, ..Default::default() })
}

/// `with` on a channel's archive: `channel@<view's domain>/<resource>` names a
/// member (the view says how: `member`), any other JID a real bare JID;
/// what is no JID is `jid-malformed`.
pub fn with_filter(svc: &Service, view: View, channel: &str, with: &str, member: fn(String) -> With) -> Result<With> {
    let j = with.parse::<Jid>().map_err(|_| Error::jid_malformed("the 'with' field is not a JID"))?;
    Ok(match j.resource() {
        Some(r) if j.to_bare() == svc.channel_jid(view, channel) => member(r.to_string()),
        _ => With::Jid(j.to_bare().to_string()),
    })
}
