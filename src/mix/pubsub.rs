//! PubSub items on a channel's nodes (XEP-0369 uses PubSub to read them):
//! participants and info; banned and allowed (MIX-ADMIN, `admin.rs`).
//! Other nodes: item-not-found.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::membership::{NODE_INFO, NODE_PARTICIPANTS};
use crate::error::{Error, Result};
use crate::router::Reply;
use crate::service::Service;
use crate::xmpp::{el, mam, ns};

pub async fn items(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let items = payload
        .get_child("items", ns::PUBSUB)
        .ok_or_else(|| Error::feature_not_implemented("only PubSub <items/> requests are served on channels"))?;
    let node = items.attr("node").ok_or_else(|| Error::bad_request("<items/> needs a node"))?;
    if node == ns::MIX_NODE_BANNED || node == ns::MIX_NODE_ALLOWED {
        return super::admin::items(svc, channel, from, node).await;
    }
    let ch = svc.channels.require(channel).await?;
    svc.channels.require_participant(channel, &from.to_bare()).await?;
    let children: Vec<Element> = match node {
        NODE_PARTICIPANTS => super::render::participant_items(svc, &ch, &svc.channels.participants(channel).await?),
        NODE_INFO => {
            let mut item = el("item", ns::PUBSUB, &[("id", &mam::stamp(ch.created_at))]);
            item.append_child(info_form(&ch.title, &ch.description));
            vec![item]
        }
        _ => return Err(Error::item_not_found().with_text(format!("no node {node} on this channel"))),
    };
    let mut out_items = el("items", ns::PUBSUB, &[("node", node)]);
    for c in children {
        out_items.append_child(c);
    }
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(out_items);
    Ok(Reply::payload(pubsub))
}

fn info_form(name: &str, description: &str) -> Element {
    use xmpp_parsers::data_forms::{DataForm, DataFormType, Field};
    DataForm::new(DataFormType::Result_, ns::MIX_CORE, vec![Field::text_single("Name", name), Field::text_single("Description", description)]).into()
}
