//! The MIX view's addresses: where a participant's messages come from
//! (`channel@mix/<participant-id>`), proxy JIDs (`<participant-id>#channel@mix`,
//! XEP-0369 seed and XEP-0404) and their session parts.

use xmpp_parsers::jid::{FullJid, Jid};

use crate::error::{Error, Result};
use crate::service::{Service, View};

/// `channel@mix/participant-id`: where a participant's messages come from.
pub fn participant_jid(svc: &Service, channel: &str, participant_id: &str) -> Jid {
    let bare = svc.channel_jid(View::Mix, channel);
    Jid::from(FullJid::from_parts(bare.node(), bare.domain(), &xmpp_parsers::jid::ResourcePart::new(participant_id).expect("participant ids are valid resources")))
}

/// The seed's proxy JID: `participant-id#channel@mix`.
pub fn proxy_jid(svc: &Service, channel: &str, participant_id: &str) -> String {
    format!("{participant_id}#{channel}@{}", svc.mix_domain)
}

/// Splits the localpart of a proxy JID, `<participant-id>#<channel>`, into
/// (participant id, channel). Participant ids never contain `#` and channel
/// names refuse it, so the first `#` is the separator.
pub fn proxy_parts(node: &str) -> Option<(&str, &str)> {
    let (id, channel) = node.split_once('#')?;
    (!id.is_empty() && !channel.is_empty()).then_some((id, channel))
}

/// The proxy JID of one session of a participant,
/// `<participant-id>#<channel>@mix/<session token>`.
pub async fn proxy_full_jid(svc: &Service, channel: &str, participant_id: &str, session_full_jid: &str) -> Result<Jid> {
    let token = svc.channels.session_token(channel, session_full_jid).await?;
    let jid = format!("{}/{token}", proxy_jid(svc, channel, participant_id));
    jid.parse().map_err(|e| Error::internal(format!("proxy JID {jid}: {e}")))
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
