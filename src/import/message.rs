//! An archived message of the old service made a row of mixmuc's archive:
//! the same archive id, the time it was archived (whole seconds, as the old
//! service showed it), the sender's nick and (where the old service
//! recorded it: rooms whose real JIDs everyone saw) real JID, and the
//! message's content in mixmuc's archived form, so that it renders through
//! MAM and join history like a message mixmuc archived itself.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::Element;

use crate::channel::ids;
use crate::store::NewMessage;
use crate::xmpp::{content, ns};

/// An item of the old service's room archive, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMessage {
    /// The archive id (Prosody: the item's key).
    pub id: String,
    /// When it was archived (seconds since the epoch).
    pub when: f64,
    /// Prosody's `with` field: the stanza's name and type
    /// (`message<groupchat`; `presence…` when presences were logged).
    pub with: String,
    /// The stanza, serialised.
    pub xml: String,
}

/// What is needed to convert a room's messages.
pub struct Context<'a> {
    /// The channel's name (the room's localpart).
    pub channel: &'a str,
    /// The room's JID on the old service.
    pub room_jid: &'a BareJid,
    /// The installation's salt for participant ids.
    pub salt: &'a str,
}

/// The row to archive, or `None` for an item that is not a room message
/// (a logged presence). An item that cannot be read is an error naming it.
pub fn convert(cx: &Context<'_>, m: &SourceMessage) -> Result<Option<NewMessage>, String> {
    if !m.with.starts_with("message") {
        return Ok(None);
    }
    let bad = |why: String| format!("archived message {}: {why}", m.id);
    if m.id.is_empty() || m.id.len() > 255 || m.id.chars().any(char::is_control) {
        return Err(bad("its archive id is empty, too long or has control characters".into()));
    }
    if !m.when.is_finite() || m.when < 0.0 {
        return Err(bad(format!("its time {} is not a time", m.when)));
    }
    let el = parse_stanza(&m.xml).map_err(&bad)?;
    if el.name() != "message" {
        return Err(bad(format!("a <{}/> where a message was expected", el.name())));
    }
    let from = el.attr("from").ok_or_else(|| bad("no sender (from)".into()))?;
    let from: Jid = from.parse().map_err(|e| bad(format!("sender {from:?}: {e}")))?;
    let nick = match (&from.to_bare() == cx.room_jid, from.resource()) {
        (true, Some(r)) => r.as_str().to_string(),
        _ => return Err(bad(format!("the sender {from} is not an occupant of {}", cx.room_jid))),
    };
    // mod_muc_mam records the sender's bare JID in rooms whose JIDs anyone sees.
    let real = el
        .children()
        .filter(|c| c.is("x", ns::MUC_USER))
        .flat_map(|x| x.children().filter(|i| i.is("item", ns::MUC_USER)))
        .find_map(|i| i.attr("jid"))
        .map(|j| j.parse::<Jid>().map(|j| j.to_bare().to_string()).map_err(|e| bad(format!("recorded sender JID {j:?}: {e}"))))
        .transpose()?;
    let submission_id = el.attr("id").map(str::to_string);
    let message = Message::try_from(content::to_component_ns(el)).map_err(|e| bad(format!("not a message mixmuc can read: {e}")))?;
    let ours = |by: &str| by.parse::<BareJid>().is_ok_and(|b| &b == cx.room_jid);
    let stripped = content::strip_for_archive(&message, ours);
    let who = match &real {
        Some(jid) => jid.clone(),
        // No real JID recorded: the same nick gets the same participant id.
        None => format!("nick\n{nick}"),
    };
    Ok(Some(NewMessage {
        channel: cx.channel.to_string(),
        id: m.id.clone(),
        ts: (m.when.floor() as i64).saturating_mul(1000),
        sender_jid: real.clone().unwrap_or_default(),
        participant_id: ids::salted_hash(cx.salt, cx.channel, &who),
        nick,
        submission_id,
        payload: content::to_archive_xml(&stripped),
        jid_visible: real.is_some(),
    }))
}

/// Parses a stanza Prosody serialised; its top element may carry no
/// namespace (Prosody leaves out the stream's), which is `jabber:client`.
fn parse_stanza(xml: &str) -> Result<Element, String> {
    let trimmed = xml.trim_start();
    let head_end = trimmed.find('>').ok_or("not XML (no element)")?;
    let head = &trimmed[..head_end];
    let has_ns = head.split_whitespace().skip(1).any(|a| a.starts_with("xmlns=") || a.starts_with("xmlns ="));
    let text = if has_ns || !trimmed.starts_with('<') {
        trimmed.to_string()
    } else {
        let name_end = trimmed[1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map(|i| i + 1).unwrap_or(trimmed.len());
        format!("{} xmlns='jabber:client'{}", &trimmed[..name_end], &trimmed[name_end..])
    };
    text.parse::<Element>().map_err(|e| format!("its XML does not parse: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx_convert(xml: &str, with: &str) -> Result<Option<NewMessage>, String> {
        let room: BareJid = "coven@rooms.localhost".parse().unwrap();
        let cx = Context { channel: "coven", room_jid: &room, salt: "salt" };
        convert(&cx, &SourceMessage { id: "0d5c-uuid".into(), when: 1733250000.75, with: with.into(), xml: xml.into() })
    }

    /// What mod_muc_mam stores in a room whose JIDs anyone sees: the
    /// stanza without namespace, the sender's JID in a muc#user item.
    #[test]
    fn converts_a_prosody_message() {
        let xml = "<message type='groupchat' id='m1' from='coven@rooms.localhost/Al'><body>hi &amp; bye</body>\
                   <reply xmlns='urn:xmpp:reply:0' id='x' to='coven@rooms.localhost/Bo'/>\
                   <occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>\
                   <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' jid='alice@localhost'/></x></message>";
        let row = cx_convert(xml, "message<groupchat").unwrap().unwrap();
        assert_eq!(row.id, "0d5c-uuid");
        assert_eq!(row.ts, 1_733_250_000_000);
        assert_eq!(row.nick, "Al");
        assert_eq!(row.sender_jid, "alice@localhost");
        assert!(row.jid_visible);
        assert_eq!(row.submission_id.as_deref(), Some("m1"));
        assert_eq!(row.participant_id, ids::salted_hash("salt", "coven", "alice@localhost"));
        let payload = content::from_archive_xml(&row.payload).unwrap();
        assert!(payload.is("message", "jabber:client"));
        assert_eq!(payload.get_child("body", "jabber:client").unwrap().text(), "hi & bye");
        assert!(payload.get_child("reply", "urn:xmpp:reply:0").is_some(), "payloads pass through");
        assert!(payload.get_child("x", ns::MUC_USER).is_none() && payload.get_child("occupant-id", ns::OCCUPANT_ID).is_none());
    }

    #[test]
    fn an_anonymous_sender_keeps_a_stable_id() {
        let xml = "<message xmlns='jabber:client' type='groupchat' from='coven@rooms.localhost/Bo'><body>x</body></message>";
        let row = cx_convert(xml, "message<groupchat").unwrap().unwrap();
        assert_eq!(row.sender_jid, "");
        assert!(!row.jid_visible);
        assert_eq!(row.participant_id, ids::salted_hash("salt", "coven", "nick\nBo"));
        assert_eq!(row.submission_id, None);
    }

    #[test]
    fn presences_are_left_out_and_bad_items_named() {
        assert_eq!(cx_convert("<presence from='coven@rooms.localhost/Al'/>", "presence").unwrap(), None);
        let e = cx_convert("<message from='coven@rooms.localhost/Al'><body>cut", "message<groupchat").unwrap_err();
        assert!(e.contains("0d5c-uuid") && e.contains("does not parse"), "{e}");
        let e = cx_convert("<message from='other@rooms.localhost/Al'><body>x</body></message>", "message<groupchat").unwrap_err();
        assert!(e.contains("not an occupant"), "{e}");
        let e = cx_convert("<message><body>x</body></message>", "message<groupchat").unwrap_err();
        assert!(e.contains("no sender"), "{e}");
    }
}
