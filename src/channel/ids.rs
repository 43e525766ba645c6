//! Generated identifiers: participant ids and archive ids.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `n` characters of ALPHABET, 5 random bits each (32 letters: no bias),
/// twelve from every random `u64`.
fn random(n: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(n);
    let mut bits = 0u64;
    for i in 0..n {
        if i % 12 == 0 {
            bits = rng.random();
        }
        s.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    s
}

/// A keyed hash of `input` within `channel`: the participant id of a user
/// (`input` its bare JID: the same every time the user joins, so XEP-0421
/// occupant ids are stable) and the MAC of session and invitation tokens;
/// not guessable without the installation's salt; 10 characters of
/// lower-case base32, never `#`, `/` or `@`.
pub fn salted_hash(salt: &str, channel: &str, input: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(salt).chain_update([0]).chain_update(channel).chain_update([0]).chain_update(input).finalize();
    digest.iter().take(10).map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}


/// ALPHABET's letters in byte order: the time part of archive ids.
const SORTED: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";

/// A unique id that sorts by time: the archive id of a message (the MIX
/// message id and the XEP-0359 stanza-id), and the id of stanzas the
/// service sends of its own (MAM results, PubSub notifications): 9
/// letters of the time in milliseconds (45 bits, in byte order, so ids of
/// later messages sort later until the year 3084), then 11 random letters
/// (55 bits). Ids made close in time are neighbours in the archive's
/// unique index: an append touches the index's last page instead of a
/// random one (the random ids of earlier versions made every append a
/// page read and a page write).
pub fn time_sorted_id() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    time_prefixed(ms)
}

fn time_prefixed(ms: u64) -> String {
    let mut s: String = (0..9).rev().map(|i| SORTED[((ms >> (5 * i)) & 31) as usize] as char).collect();
    s.push_str(&random(11));
    s
}

/// A name for an ad-hoc channel.
pub fn channel_name() -> String {
    random(12)
}

#[cfg(test)]
mod tests {
    #[test]
    fn participant_ids_are_stable_and_distinct() {
        let a = super::salted_hash("s", "coven", "hag66@shakespeare.example");
        assert_eq!(a, super::salted_hash("s", "coven", "hag66@shakespeare.example"));
        assert_ne!(a, super::salted_hash("s", "coven", "hecate@shakespeare.example"));
        assert_ne!(a, super::salted_hash("t", "coven", "hag66@shakespeare.example"));
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) && a.len() == 10);
    }

    #[test]
    fn archive_ids_use_the_whole_alphabet_and_differ() {
        let ids: Vec<String> = (0..200).map(|_| super::time_sorted_id()).collect();
        assert!(ids.iter().all(|i| i.len() == 20 && i.bytes().all(|b| super::ALPHABET.contains(&b))));
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        let used: std::collections::HashSet<u8> = ids.iter().flat_map(|i| i.bytes()).collect();
        assert_eq!(used.len(), super::ALPHABET.len(), "every letter appears in 4,000 draws");
    }

    #[test]
    fn archive_ids_sort_by_time() {
        let times = [0u64, 1, 31, 32, 1_763_700_000_000, 1_763_700_000_001, 1_763_700_001_000, (1 << 45) - 1];
        let ids: Vec<String> = times.iter().map(|t| super::time_prefixed(*t)).collect();
        for w in ids.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        assert!(ids.iter().all(|i| i.len() == 20 && i.bytes().all(|b| super::ALPHABET.contains(&b))));
    }
}
