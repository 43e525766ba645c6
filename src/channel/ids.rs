//! Generated identifiers: participant ids and archive ids.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

fn random(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The participant id of a user in a channel: the same every time the user
/// joins (so XEP-0421 occupant ids are stable), not guessable without the
/// installation's salt; lower-case base32, never `#`, `/` or `@`.
pub fn participant_id(salt: &str, channel: &str, jid: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(salt).chain_update([0]).chain_update(channel).chain_update([0]).chain_update(jid).finalize();
    digest.iter().take(10).map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn participant_ids_are_stable_and_distinct() {
        let a = super::participant_id("s", "coven", "hag66@shakespeare.example");
        assert_eq!(a, super::participant_id("s", "coven", "hag66@shakespeare.example"));
        assert_ne!(a, super::participant_id("s", "coven", "hecate@shakespeare.example"));
        assert_ne!(a, super::participant_id("t", "coven", "hag66@shakespeare.example"));
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) && a.len() == 10);
    }
}

/// An archive id (the MIX message id and the XEP-0359 stanza-id).
pub fn archive_id() -> String {
    random(20)
}

/// A name for an ad-hoc channel.
pub fn channel_name() -> String {
    random(12)
}
