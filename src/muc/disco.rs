//! disco#info and disco#items on a room (XEP-0045 §6.4, muc#roominfo).

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field};
use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsResult, Identity};

use crate::error::{Error, Result};
use crate::router::Reply;
use crate::service::Service;
use crate::xmpp::ns;

pub async fn info(svc: &Service, room: &str, node: Option<&str>) -> Result<Reply> {
    // XEP-0045 §17.1.1: a room that discards no payload answers the
    // #traffic node with service-unavailable.
    if node == Some("http://jabber.org/protocol/muc#traffic") {
        return Err(Error::service_unavailable());
    }
    if node.is_some() {
        return Err(Error::item_not_found());
    }
    let ch = svc.channels.require(room).await?;
    let name = if ch.title.is_empty() { ch.name.clone() } else { ch.title.clone() };
    let anonymity = if ch.jid_visible { "muc_nonanonymous" } else { "muc_semianonymous" };
    let features = [
        ns::MUC, "http://jabber.org/protocol/muc#stable_id", "muc_persistent", "muc_open", "muc_unmoderated", "muc_public", anonymity, ns::MAM, ns::SID, ns::OCCUPANT_ID,
        "http://jabber.org/protocol/muc#self-ping-optimization", ns::DISCO_INFO,
    ];
    let occupants = svc.channels.participants(room).await?.iter().filter(|p| p.nick.is_some()).count();
    let form = DataForm::new(
        DataFormType::Result_,
        "http://jabber.org/protocol/muc#roominfo",
        vec![
            Field::text_single("muc#roominfo_description", &ch.description),
            Field::text_single("muc#roominfo_occupants", &occupants.to_string()),
            Field::text_single("muc#roominfo_subject", &ch.subject),
            Field::text_single("muc#roomconfig_roomname", &name),
        ],
    );
    let info = DiscoInfoResult {
        node: None,
        identities: vec![Identity::new("conference", "text", "en", name)],
        features: features.into_iter().map(str::to_string).collect(),
        extensions: vec![form],
    };
    Ok(Reply::payload(info.into()))
}

/// Occupants are not listed through disco (XEP-0045 allows an empty list).
pub fn items(node: Option<&str>) -> Result<Reply> {
    if node.is_some() {
        return Err(Error::item_not_found());
    }
    Ok(Reply::payload(DiscoItemsResult { node: None, items: vec![], rsm: None }.into()))
}
