//! disco#info and disco#items on a channel (node='mix', XEP-0369).

use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsResult, Identity, Item};
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::membership::{NODES, NODE_AVATAR_METADATA};
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::{Service, View};
use crate::xmpp::ns;

pub async fn info(svc: &Service, channel: &str, node: Option<&str>) -> Result<Reply> {
    if node.is_some_and(|n| n != "mix") {
        return Err(Error::item_not_found());
    }
    let ch = svc.channels.require(channel).await?;
    let name = if ch.title.is_empty() { ch.name.clone() } else { ch.title.clone() };
    let features = [ns::MIX_CORE, ns::MIX_ANON, ns::MAM, ns::MAM_EXTENDED, ns::DISCO_INFO, ns::DISCO_ITEMS, ns::SID, ns::RETRACT, ns::RETRACT_TOMBSTONE, ns::MODERATE, ns::MIX_NICK_REGISTER, ns::COMMANDS];
    let info = DiscoInfoResult {
        node: node.map(str::to_string),
        identities: vec![Identity::new("conference", "mix", "en", name)],
        features: features.into_iter().map(str::to_string).collect(),
        extensions: vec![],
    };
    Ok(Reply::payload(info.into()))
}

pub async fn items(svc: &Service, channel: &str, node: Option<&str>) -> Result<Reply> {
    if node.is_some_and(|n| n != "mix") {
        return Err(Error::item_not_found());
    }
    let jid = Jid::from(svc.channel_jid(View::Mix, channel));
    let avatar: &[&str] = if svc.channels.require(channel).await?.avatar_hash.is_empty() { &[] } else { &[ns::AVATAR_DATA, ns::AVATAR_METADATA] };
    // The avatar nodes exist while the channel has an avatar (one may
    // subscribe to the metadata node before, to hear of the first).
    let items = NODES
        .iter()
        .filter(|n| **n != NODE_AVATAR_METADATA)
        .chain([&super::config::NODE_CONFIG, &ns::MIX_NODE_JIDMAP])
        .chain(avatar)
        .map(|n| Item { jid: jid.clone(), node: Some(n.to_string()), name: None })
        .collect();
    let result: Element = DiscoItemsResult { node: node.map(str::to_string), items, rsm: None }.into();
    Ok(Reply::payload(result))
}
