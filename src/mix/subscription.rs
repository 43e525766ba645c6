//! `<update-subscription/>` to a channel, straight from a client.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::error::Result;
use crate::service::Reply;
use crate::service::Service;
use crate::xmpp::mix::{Subscribe, Unsubscribe, UpdateSubscription};

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
