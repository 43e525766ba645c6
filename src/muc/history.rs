//! History and subject sent to a session entering a room (XEP-0045 §7.2.14,
//! 7.2.15), from the shared archive, with XEP-0203 delay.

use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::presence::Presence;
use xmpp_parsers::stanza::Stanza;

use crate::error::Result;
use crate::service::{Service, View};
use crate::store::{now_ms, ArchiveQuery};
use crate::xmpp::{content, el, mam, ns};
use xmpp_parsers::ns::JABBER_CLIENT;

/// Messages of history sent when the client does not say.
pub const DEFAULT_HISTORY: i64 = 20;

pub async fn on_enter(svc: &Service, room: &str, to: &str, p: &Presence) -> Result<Vec<Stanza>> {
    let channel = svc.channels.require(room).await?;
    let history = p.payloads.iter().find(|e| e.is("x", ns::MUC)).and_then(|x| x.get_child("history", ns::MUC));
    let num = |a: &str| history.and_then(|h| h.attr(a)).and_then(|v| v.parse::<i64>().ok());
    let mut max = num("maxstanzas").unwrap_or(DEFAULT_HISTORY).clamp(0, 1000);
    let maxchars = num("maxchars");
    if maxchars == Some(0) {
        max = 0;
    }
    let mut q = ArchiveQuery { channel: room.to_string(), ..Default::default() };
    if let Some(s) = num("seconds") {
        // Saturating: `seconds` is the client's number (any i64).
        q.start = Some(now_ms().saturating_sub(s.max(0).saturating_mul(1000)));
    }
    if let Some(since) = history.and_then(|h| h.attr("since")).and_then(|v| v.parse::<xmpp_parsers::date::DateTime>().ok()) {
        q.start = Some(q.start.unwrap_or(i64::MIN).max(since.0.timestamp_millis()));
    }
    let room_jid = svc.channel_jid(View::Muc, room);
    // The newest messages that meet every limit (§7.2.14: "the smallest
    // amount of traffic"; complete stanzas only): walk the archive back from
    // its end, page by page, since subject changes are in the archive but
    // are not history and do not count against `maxstanzas`.
    let mut picked = Vec::new();
    let mut budget = maxchars.unwrap_or(i64::MAX);
    'pages: loop {
        if max == 0 {
            break;
        }
        let rows = svc.channels.newest(&q, max).await?;
        for row in rows.iter().rev() {
            // What was taken back is not history (its retraction is).
            if row.tombstone.is_some() {
                continue;
            }
            let Some(mut e) = super::render::archived(svc, &channel, row) else { continue };
            // Subject changes are not discussion history (XEP-0045 §7.2.13).
            if e.get_child("subject", JABBER_CLIENT).is_some() && e.get_child("body", JABBER_CLIENT).is_none() {
                continue;
            }
            e.append_child(el("delay", ns::DELAY, &[("stamp", &mam::stamp(row.ts)), ("from", room_jid.as_str())]));
            crate::xmpp::set_attr(&mut e, "to", to);
            budget -= String::from(&e).chars().count() as i64;
            if budget < 0 {
                break 'pages;
            }
            match Message::try_from(content::to_component_ns(e)) {
                Ok(m) => picked.push(Stanza::Message(m)),
                Err(err) => tracing::error!(id = %row.id, %err, "archived message unreadable; skipped"),
            }
            if picked.len() as i64 >= max {
                break 'pages;
            }
        }
        match rows.first() {
            Some(oldest) if rows.len() as i64 == max => q.before_seq = Some(oldest.seq),
            _ => break,
        }
    }
    picked.reverse();
    let mut out = picked;
    let mut subject = Message::new_with_type(MessageType::Groupchat, to.parse().ok());
    subject.from = Some(room_jid.clone().into());
    subject.subjects.insert(Default::default(), channel.subject.clone());
    let set_at = if channel.subject_at > 0 { channel.subject_at } else { channel.created_at };
    subject.payloads.push(el("delay", ns::DELAY, &[("stamp", &mam::stamp(set_at)), ("from", room_jid.as_str())]));
    out.push(Stanza::Message(subject));
    Ok(out)
}
