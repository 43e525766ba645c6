//! Nicknames: the PRECIS "nickname" profile (RFC 8266, which obsoletes RFC
//! 7700): map spaces, trim, collapse, NFKC; compare case-insensitively. A
//! nick must also be a valid JID resource, since the MUC view puts it in
//! `room@muc-domain/nick`.

use unicode_normalization::UnicodeNormalization;
use xmpp_parsers::jid::ResourcePart;

use crate::error::{Error, Result};
use crate::store::ParticipantRow;

/// The nick to use and its comparison key, or `bad-request`.
pub fn normalise(raw: &str) -> Result<(String, String)> {
    let spaced: String = raw.chars().map(|c| if c.is_whitespace() && c != '\u{20}' && !c.is_control() { ' ' } else { c }).collect();
    let collapsed = spaced.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    let nick: String = collapsed.nfkc().collect();
    if nick.is_empty() {
        return Err(Error::bad_request("the nick is empty"));
    }
    if nick.chars().any(|c| c.is_control()) {
        return Err(Error::bad_request("the nick contains control characters"));
    }
    if nick.len() > 1023 || ResourcePart::new(&nick).is_err() {
        return Err(Error::bad_request("the nick is not usable as an XMPP resource"));
    }
    let key: String = nick.to_lowercase().nfkc().collect();
    Ok((nick, key))
}

/// The participant shown under nick `raw`: nicks compare by their key
/// (case-insensitively, normalised), in every place either view looks a
/// nick up.
pub fn find<'a>(participants: &'a [ParticipantRow], raw: &str) -> Option<&'a ParticipantRow> {
    let (_, key) = normalise(raw).ok()?;
    participants.iter().find(|p| p.nick.as_deref().and_then(|n| normalise(n).ok()).is_some_and(|(_, k)| k == key))
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn maps_trims_and_collapses_spaces() {
        assert_eq!(normalise("  third\u{00A0}\u{00A0}witch ").unwrap().0, "third witch");
    }

    #[test]
    fn nfkc_and_case_fold_key() {
        let (nick, key) = normalise("Ｔhird").unwrap();
        assert_eq!(nick, "Third");
        assert_eq!(key, "third");
        assert_eq!(normalise("THIRD").unwrap().1, key);
    }

    #[test]
    fn refuses_empty_and_control() {
        assert!(normalise("").is_err());
        assert!(normalise("   ").is_err());
        assert!(normalise("a\u{0007}b").is_err());
    }
}
