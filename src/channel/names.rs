//! Channel names: the localpart shared by `name@mix-domain` and
//! `name@muc-domain`.

use xmpp_parsers::jid::NodePart;

use crate::error::{Error, Result};

/// Checks and normalises a requested channel name (JID localpart rules,
/// nodeprep). `#` is refused because proxy JIDs use it as the separator.
pub fn normalise(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::bad_request("channel name is empty"));
    }
    if raw.contains('#') {
        return Err(Error::bad_request("channel name must not contain '#'"));
    }
    let node = NodePart::new(raw).map_err(|_| Error::bad_request("invalid channel name: it must be usable as the local part of a JID"))?;
    Ok(node.as_str().to_string())
}

/// A fresh name for an ad-hoc channel: 12 characters of lower-case base32.
pub fn adhoc() -> String {
    super::ids::channel_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case() {
        assert_eq!(normalise("Coven").unwrap(), "coven");
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "a#b", "a@b", "a/b", "a b", "x\"y"] {
            assert!(normalise(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn adhoc_names_are_valid() {
        let n = adhoc();
        assert_eq!(normalise(&n).unwrap(), n);
    }
}
