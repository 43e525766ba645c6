//! What the service counts, for Prometheus (`[metrics] listen`): one set
//! of counters, gauges and histograms for the process, updated where the
//! work happens (the links, the dispatcher, the archive's appends) and read
//! by `http.rs` when scraped. Counting costs an atomic add (the label sets
//! are made once, here); nothing is allocated per stanza.
//!
//! This file imports nothing of the crate: the layers that count (link,
//! dispatch, app) may all name it. What is read only when scraped (queue
//! depths, the store's rows, the store's errors) is gathered by `http.rs`.

pub mod http;

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The two domains, as the config's sections name them (`mix`, `muc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    Mix,
    Muc,
}

impl Domain {
    pub const ALL: [Domain; 2] = [Domain::Mix, Domain::Muc];

    pub fn label(self) -> &'static str {
        match self {
            Domain::Mix => "mix",
            Domain::Muc => "muc",
        }
    }

    /// From a link's section name (`link::run`'s `section`).
    pub fn from_section(section: &str) -> Option<Domain> {
        match section {
            "mix" => Some(Domain::Mix),
            "muc" => Some(Domain::Muc),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A stanza's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Message,
    Presence,
    Iq,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Message, Kind::Presence, Kind::Iq];

    fn label(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Presence => "presence",
            Kind::Iq => "iq",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainKind {
    domain: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabel {
    domain: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Condition {
    condition: String,
}

/// The process's metrics; `get()` is the one instance.
pub struct Metrics {
    registry: Registry,
    stanzas_in: [[Counter; 3]; 2],
    stanzas_out: [[Counter; 3]; 2],
    errors: Family<Condition, Counter>,
    fanout_copies: [Counter; 2],
    dispatch: Histogram,
    archive_append: Histogram,
    link_up: [Gauge; 2],
    link_connects: [Counter; 2],
    /// Read at scrape time (set by `http.rs` before encoding).
    pub(crate) scraped: Scraped,
}

/// Gauges set from elsewhere just before each scrape.
pub(crate) struct Scraped {
    queue_bytes: Family<DomainLabel, Gauge>,
    queue_bound: Family<DomainLabel, Gauge>,
    pub inbound: Gauge,
    pub store_errors: Counter,
    pub store_up: Gauge,
    pub channels: Gauge,
    pub participants: Gauge,
    pub occupants: Gauge,
    pub archive_rows: Gauge,
}

impl Scraped {
    pub fn queue(&self, d: Domain, bytes: usize, bound: usize) {
        self.queue_bytes.get_or_create(&DomainLabel { domain: d.label() }).set(bytes as i64);
        self.queue_bound.get_or_create(&DomainLabel { domain: d.label() }).set(bound as i64);
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mixmuc");
        let stanzas_in_f = Family::<DomainKind, Counter>::default();
        let stanzas_out_f = Family::<DomainKind, Counter>::default();
        let fanout_f = Family::<DomainLabel, Counter>::default();
        let link_up_f = Family::<DomainLabel, Gauge>::default();
        let connects_f = Family::<DomainLabel, Counter>::default();
        let by_kind = |f: &Family<DomainKind, Counter>| Domain::ALL.map(|d| Kind::ALL.map(|k| f.get_or_create(&DomainKind { domain: d.label(), kind: k.label() }).clone()));
        let by_domain_c = |f: &Family<DomainLabel, Counter>| Domain::ALL.map(|d| f.get_or_create(&DomainLabel { domain: d.label() }).clone());
        let m = Metrics {
            stanzas_in: by_kind(&stanzas_in_f),
            stanzas_out: by_kind(&stanzas_out_f),
            errors: Family::default(),
            fanout_copies: by_domain_c(&fanout_f),
            // 50 µs … ~1.6 s.
            dispatch: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            // 100 µs … ~3.3 s.
            archive_append: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            link_up: Domain::ALL.map(|d| link_up_f.get_or_create(&DomainLabel { domain: d.label() }).clone()),
            link_connects: by_domain_c(&connects_f),
            scraped: Scraped {
                queue_bytes: Family::default(),
                queue_bound: Family::default(),
                inbound: Gauge::default(),
                store_errors: Counter::default(),
                store_up: Gauge::default(),
                channels: Gauge::default(),
                participants: Gauge::default(),
                occupants: Gauge::default(),
                archive_rows: Gauge::default(),
            },
            registry: Registry::default(),
        };
        registry.register("stanzas_in", "Stanzas read from the server, by domain and kind", stanzas_in_f);
        registry.register("stanzas_out", "Stanzas handed to the links, by domain and kind (a room message counted once per recipient)", stanzas_out_f);
        registry.register("stanza_errors", "Error stanzas sent, by condition", m.errors.clone());
        registry.register("fanout_copies", "Copies of room messages and presences sent to the recipients of a fan-out, by domain", fanout_f);
        registry.register("dispatch_seconds", "Time from the dispatcher taking a stanza to its answers being queued for the links", m.dispatch.clone());
        registry.register("archive_append_seconds", "Time to archive a run of room messages (one transaction)", m.archive_append.clone());
        registry.register("link_up", "1 while the component link of the domain is authenticated", link_up_f);
        registry.register("link_connects", "Successful component handshakes, by domain (the first one and every reconnection)", connects_f);
        let s = &m.scraped;
        registry.register("link_queue_bytes", "Bytes queued for the server on the domain's link", s.queue_bytes.clone());
        registry.register("link_queue_bound_bytes", "The link queue's bound ([server] send_queue_bytes)", s.queue_bound.clone());
        registry.register("inbound_queue", "Stanzas read from the links and not yet taken by the dispatcher", s.inbound.clone());
        registry.register("store_errors", "Store requests that failed (statements and connections)", s.store_errors.clone());
        registry.register("store_up", "1 while the store is reachable", s.store_up.clone());
        registry.register("channels", "Channels (= rooms)", s.channels.clone());
        registry.register("participants", "Channel memberships (MIX participants and MUC members with a nick)", s.participants.clone());
        registry.register("occupants", "Online MUC occupant sessions", s.occupants.clone());
        registry.register("archive_rows", "Messages in the archive (all channels)", s.archive_rows.clone());
        Metrics { registry, ..m }
    }

    /// One stanza read from the server.
    pub fn stanza_in(&self, d: Domain, k: Kind) {
        self.stanzas_in[d.index()][k as usize].inc();
    }

    /// `n` stanzas handed to a link (`n` recipients of a fan-out).
    pub fn stanzas_out(&self, d: Domain, k: Kind, n: u64) {
        self.stanzas_out[d.index()][k as usize].inc_by(n);
    }

    /// The copies a fan-out became.
    pub fn fanout(&self, d: Domain, copies: u64) {
        self.fanout_copies[d.index()].inc_by(copies);
    }

    /// An error stanza sent, by its defined condition (`item-not-found`).
    pub fn error_sent(&self, condition: &str) {
        self.errors.get_or_create(&Condition { condition: condition.to_string() }).inc();
    }

    /// A dispatcher turn that took `took` and handled `n` stanzas: each of
    /// them waited that long for its answers.
    pub fn dispatched(&self, took: Duration, n: usize) {
        let s = took.as_secs_f64();
        for _ in 0..n {
            self.dispatch.observe(s);
        }
    }

    /// One run of room messages archived.
    pub fn archived(&self, took: Duration) {
        self.archive_append.observe(took.as_secs_f64());
    }

    /// The link of `d` authenticated (`true`) or lost (`false`).
    pub fn link(&self, d: Domain, up: bool) {
        self.link_up[d.index()].set(up as i64);
        if up {
            self.link_connects[d.index()].inc();
        }
    }

    /// Whether the link of `d` is up.
    pub fn link_is_up(&self, d: Domain) -> bool {
        self.link_up[d.index()].get() == 1
    }

    /// The text exposition (OpenMetrics text, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
