//! MIX-ADMIN (XEP-0369 "Controlling Channel Participants"): owners and
//! administrators read, publish to and retract from the channel's banned
//! and allowed nodes with PubSub (a publish to the info node goes to
//! `info`). Each item id is a bare JID or a domain.
//! The nodes are views of the affiliations the MUC view shows: banned =
//! outcast, allowed = member (docs/mix.md).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::admin::Change;
use crate::channel::roles::Affiliation;
use crate::channel::membership::{NODES, NODE_INFO};
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::{bare_or_domain, el, ns};

/// The affiliation a node lists.
fn listed(node: &str) -> Option<Affiliation> {
    match node {
        ns::MIX_NODE_BANNED => Some(Affiliation::Outcast),
        ns::MIX_NODE_ALLOWED => Some(Affiliation::Member),
        _ => None,
    }
}

/// PubSub items of the banned or allowed node: for admins and owners.
pub async fn items(svc: &Service, channel: &str, from: &Jid, node: &str) -> Result<Reply> {
    let wanted = listed(node).ok_or_else(Error::item_not_found)?;
    let bare = from.to_bare();
    svc.channels.require_admin(channel, &bare).await?;
    let mut items = el("items", ns::PUBSUB, &[("node", node)]);
    for l in svc.channels.list_affiliation(channel, &bare, wanted).await? {
        items.append_child(el("item", ns::PUBSUB, &[("id", &l.jid)]));
    }
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(items);
    Ok(Reply::payload(pubsub))
}

/// A PubSub set on a channel: publish to or retract from the banned and
/// allowed nodes. Other PubSub requests: feature-not-implemented.
pub async fn set(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let op = payload.children().next().ok_or_else(|| Error::bad_request("empty <pubsub/>"))?;
    let publish = match (op.ns().as_str(), op.name()) {
        (ns::PUBSUB, "publish") => true,
        (ns::PUBSUB, "retract") => false,
        (ns::PUBSUB, "subscribe") => return super::subscription::pubsub(svc, channel, from, op, true).await,
        (ns::PUBSUB, "unsubscribe") => return super::subscription::pubsub(svc, channel, from, op, false).await,
        _ => return Err(Error::feature_not_implemented("only publish, retract, subscribe and unsubscribe are served on a channel's nodes")),
    };
    let node = op.attr("node").ok_or_else(|| Error::bad_request(format!("<{}/> needs a node", op.name())))?;
    if publish && node == NODE_INFO {
        return super::info::publish(svc, channel, from, op).await;
    }
    if publish && (node == ns::AVATAR_DATA || node == ns::AVATAR_METADATA) {
        return super::avatar::publish(svc, channel, from, op, node).await;
    }
    if publish && node == super::config::NODE_CONFIG {
        return super::config::publish(svc, channel, from, op).await;
    }
    let Some(wanted) = listed(node) else {
        return Err(if NODES.contains(&node) || node == ns::MIX_NODE_JIDMAP || node == super::config::NODE_CONFIG {
            Error::feature_not_implemented(format!("node {} is written by the channel only", crate::error::quote(node)))
        } else {
            Error::item_not_found().with_text(format!("no node {} on this channel", crate::error::quote(node)))
        });
    };
    let bare = from.to_bare();
    svc.channels.require_admin(channel, &bare).await?;
    let current = svc.channels.affiliations(channel).await?;
    let mut ids = Vec::new();
    let mut changes = Vec::new();
    for item in op.children().filter(|c| c.is("item", ns::PUBSUB)) {
        let id = item.attr("id").ok_or_else(|| Error::bad_request("an item needs an id (a bare JID or a domain)"))?;
        let jid = bare_or_domain(id)?;
        let now = current.get(&jid).copied().unwrap_or(Affiliation::None);
        let to = match (publish, wanted) {
            (true, Affiliation::Outcast) => Some(Affiliation::Outcast),
            // Owners and admins are allowed already; a ban is lifted by allowing.
            (true, _) if now >= Affiliation::Member => None,
            (true, _) => Some(Affiliation::Member),
            (false, w) if now == w => Some(Affiliation::None),
            (false, _) => return Err(Error::item_not_found().with_text(format!("{} is not in node {}", crate::error::quote(&jid), crate::error::quote(node)))),
        };
        if let Some(affiliation) = to {
            changes.push(Change::Affiliation { jid: jid.clone(), affiliation, reason: None });
        }
        ids.push(jid);
    }
    if ids.is_empty() {
        return Err(Error::bad_request(format!("<{}/> needs an <item/>", op.name())));
    }
    let events = if changes.is_empty() { vec![] } else { svc.channels.administer(channel, &bare, &changes).await? };
    let answer = publish.then(|| {
        let mut p = el("publish", ns::PUBSUB, &[("node", node)]);
        for id in &ids {
            p.append_child(el("item", ns::PUBSUB, &[("id", id)]));
        }
        let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
        pubsub.append_child(p);
        pubsub
    });
    Ok(Reply::events(answer, events))
}
