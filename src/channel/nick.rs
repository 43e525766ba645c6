//! Nicknames: the PRECIS Nickname profile (RFC 8266, which obsoletes RFC
//! 7700; the `precis-profiles` crate): map spaces, trim, collapse, NFKC,
//! and refuse what the FreeformClass disallows (control characters,
//! default-ignorable ones such as U+200B ZERO WIDTH SPACE or U+FEFF,
//! joiners out of context), so no nick can look like another one; compare
//! by the profile's case-mapped key. A nick must also be a valid JID
//! resource, since the MUC view puts it in `room@muc-domain/nick`.

use precis_profiles::precis_core::profile::Profile;
use precis_profiles::precis_core::Error as PrecisError;
use precis_profiles::Nickname;
use unicode_normalization::UnicodeNormalization;
use xmpp_parsers::jid::ResourcePart;

use crate::error::{Error, Result};
use crate::store::ParticipantRow;

/// The nick to use and its comparison key, or `bad-request`.
pub fn normalise(raw: &str) -> Result<(String, String)> {
    if raw.len() > 4096 {
        return Err(Error::bad_request("the nick is too long"));
    }
    let Some(mapped) = premapped(raw) else { return Err(Error::bad_request("the nick is not a valid nickname")) };
    let nick = match Nickname::new().enforce(mapped.as_str()) {
        Ok(n) => n.into_owned(),
        Err(PrecisError::Invalid) => return Err(Error::bad_request("the nick is empty")),
        Err(PrecisError::BadCodepoint(_)) => return Err(Error::bad_request("the nick contains a character not allowed in nicks (control, invisible or unassigned)")),
        Err(_) => return Err(Error::bad_request("the nick is not a valid nickname")),
    };
    if nick.len() > 1023 || ResourcePart::new(&nick).is_err() {
        return Err(Error::bad_request("the nick is not usable as an XMPP resource"));
    }
    let key: String = nick.to_lowercase().nfkc().collect();
    Ok((nick, key))
}

/// RFC 8266's additional mapping rule (non-ASCII spaces to SPACE, spaces
/// trimmed at both ends, runs of spaces made one) and NFKC, applied until
/// the string is stable, before the profile applies them itself.
/// precis-profiles 0.1.13 takes a character count for a byte offset when it
/// has spaces to map after a non-ASCII character, and panics (or cuts a
/// character in two); a string already mapped never takes that path. The
/// profile does the same mapping, so the result is the same. None when it
/// does not settle (the profile refuses such strings too).
fn premapped(raw: &str) -> Option<String> {
    // General category Zs (Unicode 16).
    let space = |c: char| matches!(c, '\u{0020}' | '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}');
    let mut s = raw.to_string();
    for _ in 0..4 {
        let mut mapped = String::with_capacity(s.len());
        let mut gap = false;
        for c in s.chars() {
            if space(c) {
                gap = !mapped.is_empty();
            } else {
                if gap {
                    mapped.push(' ');
                    gap = false;
                }
                mapped.push(c);
            }
        }
        let mapped: String = mapped.nfkc().collect();
        if mapped == s {
            return Some(s);
        }
        s = mapped;
    }
    None
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

    /// Found by fuzzing (fuzz/fuzz_targets/parsers.rs): spaces to map after
    /// a non-ASCII character made precis-profiles slice inside it (a panic);
    /// a space that NFKC makes (U+00A8 is SPACE + U+0308) likewise.
    #[test]
    fn maps_spaces_after_non_ascii_characters() {
        assert_eq!(normalise("뺏  x").unwrap().0, "뺏 x");
        assert_eq!(normalise("ééé\u{3000}\u{3000}a  ").unwrap().0, "ééé a");
        assert_eq!(normalise("뺏 \u{00A8}").unwrap().0, "뺏 \u{0308}");
        assert!(normalise("뺏\t\t;BB").is_err());
        // The same nick and key as the profile gives where it did not fail.
        assert_eq!(normalise("  Third   Witch ").unwrap(), ("Third Witch".to_string(), "third witch".to_string()));
    }

    /// Look-alikes: invisible characters that would make `bo\u{200B}b`
    /// show as `bob` are refused (RFC 8264 FreeformClass).
    #[test]
    fn refuses_invisible_characters() {
        for bad in ["bo\u{200B}b", "bo\u{200D}b", "\u{FEFF}bob", "bob\u{2060}", "b\u{00AD}ob", "bo\u{202E}b"] {
            assert!(normalise(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(normalise("☃ snow").unwrap().0, "☃ snow");
    }
}
