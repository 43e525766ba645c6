//! The room's avatar as a vCard on the room JID (XEP-0486, XEP-0054):
//! owners set it (`<PHOTO><TYPE/><BINVAL/></PHOTO>`; an empty vCard
//! removes it), anyone who may see the room reads it; its hash is in the
//! room's disco (`muc#roominfo_avatarhash`) and a change is announced
//! with status 104. The same image is the MIX channel's avatar
//! (`channel::avatar`).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::xmpp::ns;

fn text_el(name: &str, text: &str) -> Element {
    let mut e = Element::bare(name, ns::VCARD_TEMP);
    e.append_text_node(text);
    e
}

/// get: the vCard, with its PHOTO when the room has an avatar.
pub async fn get(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    let mut vcard = Element::bare("vCard", ns::VCARD_TEMP);
    if let Some(a) = svc.channels.avatar(room, &from.to_bare()).await? {
        let mut photo = Element::bare("PHOTO", ns::VCARD_TEMP);
        photo.append_child(text_el("TYPE", &a.media_type));
        photo.append_child(text_el("BINVAL", &a.base64));
        vcard.append_child(photo);
    }
    Ok(Reply::payload(vcard))
}

/// set: the vCard's first PHOTO becomes the avatar; none removes it. Other
/// vCard fields are not kept (the room's name and description are its
/// configuration's).
pub async fn set(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let avatar = match payload.get_child("PHOTO", ns::VCARD_TEMP) {
        None => None,
        Some(photo) => {
            let binval = photo.get_child("BINVAL", ns::VCARD_TEMP).map(|b| b.text()).ok_or_else(|| Error::bad_request("the PHOTO has no BINVAL (a URL is not accepted)"))?;
            let media_type = photo.get_child("TYPE", ns::VCARD_TEMP).map(|t| t.text().trim().to_string()).unwrap_or_else(|| "image/png".to_string());
            Some((binval, media_type))
        }
    };
    let events = svc.channels.set_avatar(room, &from.to_bare(), avatar.as_ref().map(|(b, t)| (b.as_str(), t.as_str()))).await?;
    Ok(Reply::events(None, events))
}
