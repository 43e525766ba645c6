//! PubSub items on a channel's nodes (XEP-0369 uses PubSub to read them):
//! participants and info; banned and allowed (MIX-ADMIN, `admin.rs`).
//! Other nodes: item-not-found.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::membership::{NODE_INFO, NODE_PARTICIPANTS, NODE_PRESENCE};
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::{ChannelRow, ParticipantRow};
use crate::xmpp::mix::Participant;
use crate::xmpp::{el, ns};
use super::config::NODE_CONFIG;
use super::jids::proxy_jid;
use crate::channel::visibility::shows_jid;

pub async fn items(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let items = payload
        .get_child("items", ns::PUBSUB)
        .ok_or_else(|| Error::feature_not_implemented("only PubSub <items/> requests are served on channels"))?;
    let node = items.attr("node").ok_or_else(|| Error::bad_request("<items/> needs a node"))?;
    if node == ns::MIX_NODE_BANNED || node == ns::MIX_NODE_ALLOWED {
        return super::admin::items(svc, channel, from, node).await;
    }
    if node == ns::MIX_NODE_JIDMAP {
        return jidmap(svc, channel, from).await;
    }
    if node == ns::AVATAR_DATA || node == ns::AVATAR_METADATA {
        let mut out_items = el("items", ns::PUBSUB, &[("node", node)]);
        for c in super::avatar::items(svc, channel, from, node).await? {
            out_items.append_child(c);
        }
        let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
        pubsub.append_child(out_items);
        return Ok(Reply::payload(pubsub));
    }
    let ch = svc.channels.require(channel).await?;
    if node == NODE_CONFIG {
        // 'Configuration Node Access' is 'owners' (the seed's default).
        svc.channels.require_owner(channel, &from.to_bare()).await.map_err(|_| Error::forbidden("only owners may read the configuration node"))?;
    } else {
        svc.channels.require_participant(channel, &from.to_bare()).await?;
    }
    let children: Vec<Element> = match node {
        NODE_PARTICIPANTS => svc.channels.participants(channel).await?.iter().map(|p| participant_item(svc, &ch, p, ns::PUBSUB)).collect(),
        NODE_PRESENCE => super::presence::items(svc, &ch).await?,
        NODE_INFO => vec![super::info::item(&ch, ns::PUBSUB)],
        NODE_CONFIG => vec![super::config::item(svc, &ch).await?],
        _ => return Err(Error::item_not_found().with_text(format!("no node {} on this channel", crate::error::quote(node)))),
    };
    let mut out_items = el("items", ns::PUBSUB, &[("node", node)]);
    for c in children {
        out_items.append_child(c);
    }
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(out_items);
    Ok(Reply::payload(pubsub))
}

/// The JID map node (XEP-0404): each participant's proxy JID and real
/// bare JID. Readable by every participant of a jid-visible channel, else
/// by administrators and owners (and service admins) only: `forbidden`.
async fn jidmap(svc: &Service, channel: &str, from: &Jid) -> Result<Reply> {
    let ch = svc.channels.require(channel).await?;
    let bare = from.to_bare();
    if ch.jid_visible() {
        svc.channels.require_participant(channel, &bare).await?;
    } else {
        svc.channels.require_admin(channel, &bare).await.map_err(|_| Error::forbidden("only administrators may read the JID map of this channel"))?;
    }
    let mut items = el("items", ns::PUBSUB, &[("node", ns::MIX_NODE_JIDMAP)]);
    for p in svc.channels.participants(channel).await?.iter() {
        items.append_child(super::anon::jidmap_item(ns::PUBSUB, &proxy_jid(svc, channel, &p.participant_id), &p.jid));
    }
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(items);
    Ok(Reply::payload(pubsub))
}

/// A participants node item (`item_ns`: PubSub for a get, PubSub event for
/// a notification): the participant's proxy JID as its id, its nick, and
/// its real JID where the channel shows it (`visibility::shows_jid`).
pub fn participant_item(svc: &Service, channel: &ChannelRow, p: &ParticipantRow, item_ns: &str) -> Element {
    let payload = Participant { jid: shows_jid(channel, p).then(|| p.jid.clone()), nick: p.nick.clone() };
    let mut item = el("item", item_ns, &[("id", &proxy_jid(svc, &channel.name, &p.participant_id))]);
    item.append_child(payload.into());
    item
}
