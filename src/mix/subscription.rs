//! `<update-subscription/>` to a channel, straight from a client; and the
//! same through plain PubSub (XEP-0060 §6.1, §6.2): `<subscribe/>` and
//! `<unsubscribe/>` to one of the channel's nodes, for participants.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::membership::NODES;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::{Subscribe, Unsubscribe, UpdateSubscription};
use crate::xmpp::{el, ns};

pub async fn handle(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: UpdateSubscription = super::parse(payload)?;
    let sub: Vec<String> = req.subscribe.into_iter().map(|s| s.node).collect();
    let unsub: Vec<String> = req.unsubscribe.into_iter().map(|s| s.node).collect();
    let bare = from.to_bare();
    let (added, removed) = svc.channels.update_subscription(channel, &bare, &sub, &unsub).await?;
    let result = UpdateSubscription {
        jid: Some(bare.to_string()),
        subscribe: added.into_iter().map(|node| Subscribe { node }).collect(),
        unsubscribe: removed.into_iter().map(|node| Unsubscribe { node }).collect(),
    };
    Ok(Reply::payload(result.into()))
}

/// A PubSub `<subscribe node jid/>` or `<unsubscribe node jid/>` on a
/// channel node: the participant's own bare JID only (`forbidden` for
/// another JID, XEP-0060 §6.1.3.1: "bad-request"/"invalid-jid" would also
/// do; we say forbidden as for every request about another user),
/// participants only (`forbidden`), the channel's nodes only
/// (`item-not-found`). Answered with the subscription state.
pub async fn pubsub(svc: &Service, channel: &str, from: &Jid, op: &Element, subscribe: bool) -> Result<Reply> {
    let node = op.attr("node").ok_or_else(|| Error::bad_request(format!("<{}/> needs a node", op.name())))?;
    let bare = from.to_bare();
    if let Some(jid) = op.attr("jid") {
        let asked: Jid = jid.parse().map_err(|_| Error::jid_malformed("the jid attribute is not a JID"))?;
        if asked.to_bare() != bare {
            return Err(Error::forbidden("you may only subscribe yourself"));
        }
    }
    if !NODES.contains(&node) {
        let exists = [ns::MIX_NODE_BANNED, ns::MIX_NODE_ALLOWED, ns::MIX_NODE_JIDMAP, super::config::NODE_CONFIG, ns::AVATAR_DATA].contains(&node);
        return Err(match exists {
            true => Error::feature_not_implemented(format!("subscriptions to {} are not offered", crate::error::quote(node))),
            false => Error::item_not_found().with_text(format!("no node {} on this channel", crate::error::quote(node))),
        });
    }
    let one = [node.to_string()];
    let (sub, unsub): (&[String], &[String]) = if subscribe { (&one, &[]) } else { (&[], &one) };
    svc.channels.update_subscription(channel, &bare, sub, unsub).await?;
    let state = if subscribe { "subscribed" } else { "none" };
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(el("subscription", ns::PUBSUB, &[("node", node), ("jid", bare.as_str()), ("subscription", state)]));
    Ok(Reply::payload(pubsub))
}
