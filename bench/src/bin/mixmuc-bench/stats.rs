//! Who is where (the layout), the message token, and the per-receiver
//! accounting of deliveries, duplicates and latencies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::frame;

/// Rooms × occupants, which occupants join through MIX, who sends.
#[derive(Debug, Clone)]
pub struct Layout {
    pub rooms: usize,
    pub occupants: usize,
    pub mix_per_room: usize,
    pub senders: usize,
    pub room_prefix: String,
}

impl Layout {
    pub fn sessions(&self) -> usize {
        self.rooms * self.occupants
    }
    pub fn room_of(&self, session: usize) -> usize {
        session / self.occupants
    }
    pub fn index_in_room(&self, session: usize) -> usize {
        session % self.occupants
    }
    /// Occupant i is MIX iff ⌊(i+1)·M/K⌋ > ⌊i·M/K⌋: spreads M MIX participants evenly.
    pub fn is_mix(&self, session: usize) -> bool {
        let (i, m, k) = (self.index_in_room(session), self.mix_per_room, self.occupants);
        (i + 1) * m / k > i * m / k
    }
    pub fn room_name(&self, room: usize) -> String {
        format!("{}-{}", self.room_prefix, room)
    }
    pub fn nick(&self, session: usize) -> String {
        format!("o{}", self.index_in_room(session))
    }
    /// Session index of sender j: occupant ⌊j/R⌋ of room j mod R.
    pub fn sender_session(&self, j: usize) -> usize {
        (j % self.rooms) * self.occupants + j / self.rooms
    }
    pub fn validate(&self) -> Result<(), String> {
        if self.rooms == 0 || self.occupants == 0 {
            return Err("--rooms and --occupants must be at least 1".into());
        }
        if self.mix_per_room > self.occupants {
            return Err("--mix-per-room cannot exceed --occupants".into());
        }
        if self.senders == 0 || self.senders > self.sessions() {
            return Err(format!("--senders must be between 1 and rooms × occupants ({})", self.sessions()));
        }
        Ok(())
    }
}

/// A parsed message token: `mmb <run> <step> <sender> <seq> <send_ns>`.
#[derive(Debug, PartialEq)]
pub struct Token<'a> {
    pub run: &'a [u8],
    pub step: usize,
    pub sender: usize,
    pub seq: u64,
    pub send_ns: u64,
}

pub fn token(run: &str, step: usize, sender: usize, seq: u64, send_ns: u64) -> String {
    format!("mmb {run} {step} {sender} {seq} {send_ns}")
}

/// Finds and parses the token in a stanza's bytes.
pub fn find_token(stanza: &[u8]) -> Option<Token<'_>> {
    let at = frame::find(stanza, b"mmb ")? + 4;
    let rest = &stanza[at..];
    let end = rest.iter().position(|&b| b == b'<').unwrap_or(rest.len());
    let mut parts = rest[..end].split(|&b| b == b' ');
    let run = parts.next()?;
    let mut num = || -> Option<u64> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 20 {
            return None;
        }
        p.iter().try_fold(0u64, |acc, &b| if b.is_ascii_digit() { acc.checked_mul(10)?.checked_add((b - b'0') as u64) } else { None })
    };
    Some(Token { run, step: num()? as usize, sender: num()? as usize, seq: num()?, send_ns: num()? })
}

#[derive(Debug, Default, Clone)]
pub struct StepRecv {
    pub delivered: u64,
    pub duplicates: u64,
    pub misrouted: u64,
    pub latency_us: Vec<u32>,
    pub last_ns: u64,
}

#[derive(Debug, Default)]
pub struct RecvState {
    /// Per sender: bitmap of the sequence numbers seen.
    seen: HashMap<usize, Vec<u64>>,
    pub steps: Vec<StepRecv>,
}

/// Everything the receivers share with the step driver.
pub struct Shared {
    pub run: String,
    pub t0: Instant,
    pub layout: Layout,
    pub recv: Vec<Mutex<RecvState>>,
    /// First copies received, all steps together.
    pub delivered: AtomicU64,
    pub foreign: AtomicU64,
    /// Error stanzas received (any time).
    pub errors: AtomicU64,
    /// Stanzas received from the service (component mode: all of mixmuc's output).
    pub stanzas_in: AtomicU64,
    /// Component mode: every stanza from mixmuc is counted in `stanzas_in`.
    pub component: bool,
}

impl Shared {
    pub fn new(run: String, layout: Layout) -> Self {
        let recv = (0..layout.sessions()).map(|_| Mutex::new(RecvState::default())).collect();
        Shared {
            run,
            t0: Instant::now(),
            layout,
            recv,
            delivered: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            stanzas_in: AtomicU64::new(0),
            component: false,
        }
    }

    pub fn stanzas_in_counted(&self) -> bool {
        self.component
    }

    pub fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    /// Accounts for a message stanza received by session `receiver`. Returns
    /// false when the stanza carries no token.
    pub fn on_message(&self, receiver: usize, stanza: &[u8]) -> bool {
        let Some(t) = find_token(stanza) else { return false };
        let now = self.now_ns();
        if t.run != self.run.as_bytes() || receiver >= self.recv.len() {
            self.foreign.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let misrouted = t.sender >= self.layout.sessions() || self.layout.room_of(t.sender) != self.layout.room_of(receiver);
        let mut st = self.recv[receiver].lock().unwrap_or_else(|e| e.into_inner());
        if st.steps.len() <= t.step {
            st.steps.resize_with(t.step + 1, StepRecv::default);
        }
        if misrouted {
            st.steps[t.step].misrouted += 1;
            return true;
        }
        let bits = st.seen.entry(t.sender).or_default();
        let (word, bit) = ((t.seq / 64) as usize, t.seq % 64);
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        let dup = bits[word] & (1 << bit) != 0;
        bits[word] |= 1 << bit;
        let s = &mut st.steps[t.step];
        if dup {
            s.duplicates += 1;
        } else {
            s.delivered += 1;
            s.latency_us.push((now.saturating_sub(t.send_ns) / 1000).min(u32::MAX as u64) as u32);
            s.last_ns = s.last_ns.max(now);
            drop(st);
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Sum of all receivers' accounting for one step.
    pub fn harvest(&self, step: usize) -> StepRecv {
        let mut total = StepRecv::default();
        for r in &self.recv {
            let st = r.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = st.steps.get(step) {
                total.delivered += s.delivered;
                total.duplicates += s.duplicates;
                total.misrouted += s.misrouted;
                total.latency_us.extend_from_slice(&s.latency_us);
                total.last_ns = total.last_ns.max(s.last_ns);
            }
        }
        total
    }
}

/// Percentile of sorted microsecond values, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], q: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    Some(sorted_us[rank - 1] as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout { rooms: 2, occupants: 4, mix_per_room: 2, senders: 3, room_prefix: "r".into() }
    }

    #[test]
    fn layout_spreads_mix_and_senders() {
        let l = layout();
        let mix: Vec<bool> = (0..4).map(|s| l.is_mix(s)).collect();
        assert_eq!(mix, vec![false, true, false, true]);
        assert_eq!((0..3).map(|j| l.sender_session(j)).collect::<Vec<_>>(), vec![0, 4, 1]);
        let all = Layout { mix_per_room: 4, ..l.clone() };
        assert!((0..4).all(|s| all.is_mix(s)));
        let none = Layout { mix_per_room: 0, ..l };
        assert!((0..4).all(|s| !none.is_mix(s)));
    }

    #[test]
    fn tokens_round_trip() {
        let body = format!("<message><body>{}</body></message>", token("ab12", 1, 7, 99, 123456789));
        assert_eq!(find_token(body.as_bytes()), Some(Token { run: b"ab12", step: 1, sender: 7, seq: 99, send_ns: 123456789 }));
        assert_eq!(find_token(b"<message><body>mmb x 1 2</body></message>"), None);
    }

    #[test]
    fn counts_duplicates_and_misrouted() {
        let s = Shared::new("ab".into(), layout());
        let m = |sender: usize, seq: u64| format!("<message><body>{}</body></message>", token("ab", 0, sender, seq, 0));
        assert!(s.on_message(1, m(0, 0).as_bytes()));
        s.on_message(1, m(0, 0).as_bytes());
        s.on_message(1, m(0, 1).as_bytes());
        s.on_message(1, m(4, 0).as_bytes()); // sender 4 is in room 1
        s.on_message(1, format!("<message><body>{}</body></message>", token("zz", 0, 0, 5, 0)).as_bytes());
        let h = s.harvest(0);
        assert_eq!((h.delivered, h.duplicates, h.misrouted), (2, 1, 1));
        assert_eq!(s.foreign.load(Ordering::Relaxed), 1);
        assert!(!s.on_message(1, b"<message><body>hello</body></message>"));
    }

    #[test]
    fn percentiles() {
        let v = [1000, 2000, 3000, 4000];
        assert_eq!(percentile_ms(&v, 0.5), Some(2.0));
        assert_eq!(percentile_ms(&v, 0.99), Some(4.0));
        assert_eq!(percentile_ms(&[], 0.5), None);
    }
}
