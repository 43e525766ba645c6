//! Generated identifiers: participant ids and archive ids.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

fn random(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A stable participant id: lower-case base32, never `#`, `/` or `@`.
pub fn participant_id() -> String {
    random(10)
}

/// An archive id (the MIX message id and the XEP-0359 stanza-id).
pub fn archive_id() -> String {
    random(20)
}

/// A name for an ad-hoc channel.
pub fn channel_name() -> String {
    random(12)
}
