//! Private messages through proxy JIDs (XEP-0369 seed "Sending Private
//! Messages", XEP-0404): a participant writes to
//! `<participant-id>#<channel>@mix-domain[/<session>]`; the channel relays
//! the message to the addressed participant without showing either real JID.
//! A MIX participant is reached at its real bare JID from the sender's proxy
//! full JID; a MUC occupant in each of its sessions from `room@muc/<nick>`
//! (docs/mix.md, docs/muc.md).

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::stanza::Stanza;

use crate::error::{Error, Result};
use crate::muc::private::{check_policy, relay_content, to_sessions};
use crate::service::Reply;
use crate::service::Service;
use crate::store::ParticipantRow;
use crate::xmpp::mix::Mix;

/// Splits the localpart of a proxy JID, `<participant-id>#<channel>`, into
/// (participant id, channel). Participant ids never contain `#` and channel
/// names refuse it, so the first `#` is the separator.
pub fn proxy_parts(node: &str) -> Option<(&str, &str)> {
    let (id, channel) = node.split_once('#')?;
    (!id.is_empty() && !channel.is_empty()).then_some((id, channel))
}

/// The proxy JID of one session of a participant,
/// `<participant-id>#<channel>@mix/<session>`: the session part is an opaque,
/// stable token for the sender's full JID, so a reply can go back to the
/// same session without the real JID being shown.
pub async fn proxy_full_jid(svc: &Service, channel: &str, participant_id: &str, session_full_jid: &str) -> Result<Jid> {
    let token = session_token(svc, channel, session_full_jid).await?;
    let jid = format!("{}/{token}", super::render::proxy_jid(svc, channel, participant_id));
    jid.parse().map_err(|e| Error::internal(format!("proxy JID {jid}: {e}")))
}

/// The opaque token naming a session (a full JID) in proxy JIDs: the same
/// salted hash as participant ids, over the full JID.
pub async fn session_token(svc: &Service, channel: &str, session_full_jid: &str) -> Result<String> {
    svc.channels.salted_hash(channel, session_full_jid).await
}

/// A message to `<participant-id>#<channel>@mix[/<session>]`.
pub async fn handle(svc: &Service, channel: &str, to_id: &str, to_session: Option<&str>, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    match m.type_ {
        MessageType::Error => return Ok(Reply::none()),
        MessageType::Groupchat => return Err(Error::bad_request("private messages must not be of type groupchat")),
        _ => {}
    }
    let ch = svc.channels.require(channel).await?;
    let sender = svc.channels.require_participant(channel, &from.to_bare()).await?;
    let participants = svc.channels.participants(channel).await?;
    let recipient = participants
        .iter()
        .find(|p| p.participant_id == to_id)
        .cloned()
        .ok_or_else(|| Error::item_not_found().with_text("no such participant in this channel"))?;
    check_policy(svc, &ch, &sender, &recipient).await?;
    let out = deliver(svc, channel, &sender, &from.to_string(), &recipient, to_session, m).await?;
    tracing::debug!(channel, to = %recipient.participant_id, copies = out.len(), "private message relayed");
    Ok(Reply { after: out, ..Default::default() })
}

/// Relays a private message from `sender` (whose session is `from_session`)
/// to `recipient`: to its MUC sessions when it has any (only `to_session`
/// when that names one of them), otherwise, for a MIX participant, to its
/// real bare JID from the sender's proxy full JID.
pub async fn deliver(
    svc: &Service,
    channel: &str,
    sender: &ParticipantRow,
    from_session: &str,
    recipient: &ParticipantRow,
    to_session: Option<&str>,
    m: &Message,
) -> Result<Vec<Stanza>> {
    let occupants = svc.channels.occupants(channel).await?;
    let mut sessions: Vec<&str> = occupants.iter().filter(|o| o.jid == recipient.jid).map(|o| o.full_jid.as_str()).collect();
    if !sessions.is_empty() {
        let nick = sender.nick.as_deref().ok_or_else(|| Error::not_acceptable("set a nick in this channel before sending private messages"))?;
        if let Some(token) = to_session {
            let mut named = Vec::new();
            for s in &sessions {
                if session_token(svc, channel, s).await? == token {
                    named.push(*s);
                }
            }
            // A session that has gone: every other session of the user.
            if !named.is_empty() {
                sessions = named;
            }
        }
        return Ok(to_sessions(svc, channel, nick, &sender.participant_id, &sessions, m));
    }
    if !recipient.via_mix {
        return Err(Error::item_not_found().with_text("no such participant in this channel"));
    }
    let mut out = relay_content(m);
    out.from = Some(proxy_full_jid(svc, channel, &sender.participant_id, from_session).await?);
    out.to = Some(Jid::from(BareJid::new(&recipient.jid).map_err(|e| Error::internal(format!("participant JID {}: {e}", recipient.jid)))?));
    if let Some(nick) = &sender.nick {
        out.payloads.push(Mix { nick: Some(nick.clone()), jid: None, submission_id: None }.into());
    }
    Ok(vec![Stanza::Message(out)])
}

/// IQs to proxy JIDs (vCard requests and the like) are not relayed.
pub fn iq() -> Result<Reply> {
    Err(Error::service_unavailable().with_text("requests are not relayed to participants"))
}

#[cfg(test)]
mod tests {
    use super::proxy_parts;

    #[test]
    fn proxy_localparts_split_at_the_first_hash() {
        assert_eq!(proxy_parts("123456#coven"), Some(("123456", "coven")));
        assert_eq!(proxy_parts("coven"), None);
        assert_eq!(proxy_parts("#coven"), None);
        assert_eq!(proxy_parts("123456#"), None);
    }
}
