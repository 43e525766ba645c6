//! The channel's avatar as XEP-0084 nodes (`urn:xmpp:avatar:data`,
//! `urn:xmpp:avatar:metadata`), listed in 'Nodes Present' when the channel
//! has one: participants read them; owners publish. A publish to the data
//! node sets the image (its type read from the image's first bytes, until
//! the metadata names it); a publish to the metadata node with the same
//! id sets its type, an empty `<metadata/>` removes the avatar. The same
//! image is the room's vCard avatar in the MUC view (`channel::avatar`).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::avatar::Avatar;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::xmpp::{el, ns};

/// The media type of an image from its first bytes (PNG, JPEG, GIF, WebP),
/// else PNG (XEP-0084's must).
fn sniff(base64_data: &str) -> &'static str {
    use base64::Engine;
    let head: String = base64_data.split_whitespace().collect::<String>().chars().take(16).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(head.as_bytes()).unwrap_or_default();
    match bytes.as_slice() {
        [0xFF, 0xD8, ..] => "image/jpeg",
        [b'G', b'I', b'F', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "image/png",
    }
}

/// Items of the data or metadata node (participants only).
pub async fn items(svc: &Service, channel: &str, from: &Jid, node: &str) -> Result<Vec<Element>> {
    svc.channels.require_participant(channel, &from.to_bare()).await?;
    let ch = svc.channels.require(channel).await?;
    let Some(a) = svc.channels.avatar(channel, &from.to_bare()).await? else { return Ok(vec![]) };
    if node == ns::AVATAR_DATA {
        let mut item = el("item", ns::PUBSUB, &[("id", &ch.avatar_hash)]);
        let mut data = Element::bare("data", ns::AVATAR_DATA);
        data.append_text_node(a.base64);
        item.append_child(data);
        Ok(vec![item])
    } else {
        Ok(vec![metadata_item(&ch.avatar_hash, Some(&a), ns::PUBSUB)])
    }
}

/// The metadata node's item in namespace `item_ns` (a query's or an
/// event's): the image's size, id (its SHA-1) and type; `None`: an empty
/// `<metadata/>`, the avatar removed (XEP-0084 §4.4).
pub fn metadata_item(hash: &str, avatar: Option<&Avatar>, item_ns: &str) -> Element {
    let mut metadata = Element::bare("metadata", ns::AVATAR_METADATA);
    let mut item = match avatar {
        Some(a) => {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(a.base64.as_bytes()).map(|b| b.len()).unwrap_or(0);
            metadata.append_child(el("info", ns::AVATAR_METADATA, &[("bytes", &bytes.to_string()), ("id", hash), ("type", &a.media_type)]));
            el("item", item_ns, &[("id", hash)])
        }
        None => Element::bare("item", item_ns),
    };
    item.append_child(metadata);
    item
}

/// A publish to the data or metadata node, by an owner.
pub async fn publish(svc: &Service, channel: &str, from: &Jid, op: &Element, node: &str) -> Result<Reply> {
    let item = op.get_child("item", ns::PUBSUB).ok_or_else(|| Error::bad_request("<publish/> needs an <item/>"))?;
    let bare = from.to_bare();
    let events = if node == ns::AVATAR_DATA {
        let data = item.get_child("data", ns::AVATAR_DATA).map(|d| d.text()).ok_or_else(|| Error::bad_request("the item is a <data/> of urn:xmpp:avatar:data"))?;
        svc.channels.set_avatar(channel, &bare, Some((&data, sniff(&data)))).await?
    } else {
        let metadata = item.get_child("metadata", ns::AVATAR_METADATA).ok_or_else(|| Error::bad_request("the item is a <metadata/> of urn:xmpp:avatar:metadata"))?;
        match metadata.get_child("info", ns::AVATAR_METADATA) {
            None => svc.channels.set_avatar(channel, &bare, None).await?,
            Some(info) => {
                let current = svc.channels.avatar(channel, &bare).await?;
                let ch = svc.channels.require(channel).await?;
                match (current, info.attr("id")) {
                    (Some(a), Some(id)) if id == ch.avatar_hash => {
                        let media_type = info.attr("type").unwrap_or(&a.media_type).to_string();
                        svc.channels.set_avatar(channel, &bare, Some((&a.base64, &media_type))).await?
                    }
                    _ => return Err(Error::not_acceptable("publish the image to urn:xmpp:avatar:data first; the metadata's id is its SHA-1")),
                }
            }
        }
    };
    let ch = svc.channels.require(channel).await?;
    let mut published = el("publish", ns::PUBSUB, &[("node", node)]);
    published.append_child(el("item", ns::PUBSUB, &[("id", &ch.avatar_hash)]));
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(published);
    Ok(Reply::events(Some(pubsub), events))
}
