//! disco#info and disco#items on a room (XEP-0045 §6.4, muc#roominfo).

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsResult, Identity};

use crate::error::{Error, Result};
use crate::service::Reply;
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
    let features = [
        ns::MUC,
        "http://jabber.org/protocol/muc#stable_id",
        "muc_persistent",
        if ch.members_only { "muc_membersonly" } else { "muc_open" },
        if ch.moderated { "muc_moderated" } else { "muc_unmoderated" },
        if ch.public { "muc_public" } else { "muc_hidden" },
        if ch.jid_visible() { "muc_nonanonymous" } else { "muc_semianonymous" },
        "muc_unsecured",
        ns::MAM,
        ns::SID,
        ns::OCCUPANT_ID,
        ns::RETRACT,
        ns::RETRACT_0,
        ns::RETRACT_TOMBSTONE,
        ns::MODERATE,
        ns::MODERATE_0,
        ns::REGISTER,
        ns::VCARD_TEMP,
        ns::COMMANDS,
        "http://jabber.org/protocol/muc#self-ping-optimization",
        ns::DISCO_INFO,
    ];
    let occupants = svc.channels.participants(room).await?.iter().filter(|p| p.nick.is_some()).count();
    let boolean = |var: &str, v: bool| Field::new(var, FieldType::Boolean).with_value(if v { "1" } else { "0" });
    let mut fields = vec![
        Field::text_single("muc#roominfo_description", &ch.description),
        Field::text_single("muc#roominfo_occupants", &occupants.to_string()),
        Field::text_single("muc#roominfo_subject", &ch.subject),
        boolean("muc#roominfo_subjectmod", ch.change_subject),
        // Prosody's name for the same, which clients read too.
        boolean("muc#roomconfig_changesubject", ch.change_subject),
        Field::text_single("muc#roomconfig_roomname", &name),
    ];
    if !ch.lang.is_empty() {
        fields.push(Field::text_single("muc#roominfo_lang", &ch.lang));
    }
    if ch.max_users > 0 {
        fields.push(Field::text_single("muc#roomconfig_maxusers", &ch.max_users.to_string()));
    }
    fields.push(Field::text_single("muc#roomconfig_allowpm", &ch.allow_pm));
    if !ch.contact.is_empty() {
        let mut f = Field::new("muc#roominfo_contactjid", FieldType::JidMulti);
        f.values = ch.contacts();
        fields.push(f);
    }
    if !ch.avatar_hash.is_empty() {
        // XEP-0486.
        let mut f = Field::new("muc#roominfo_avatarhash", FieldType::TextMulti).with_value(&ch.avatar_hash);
        f.label = Some("Avatar hash".to_string());
        fields.push(f);
    }
    let form = DataForm::new(DataFormType::Result_, "http://jabber.org/protocol/muc#roominfo", fields);
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
