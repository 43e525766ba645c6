//! Configuration: a TOML file plus `MIXMUC_`-prefixed environment variables
//! (`__` separates nesting levels, e.g. `MIXMUC_STORE__URL`), checked before
//! anything starts. Unknown keys and invalid values are errors naming the key.

use std::fmt;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use xmpp_parsers::jid::BareJid;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The XMPP server mixmuc attaches to as an external component (XEP-0114).
    pub server: ServerConfig,
    /// The MIX domain.
    pub mix: DomainConfig,
    /// The mirrored MUC domain.
    pub muc: DomainConfig,
    /// Where channels, participants and the archive live.
    #[serde(default)]
    pub store: StoreConfig,
    /// Who may do what.
    #[serde(default)]
    pub service: ServiceConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Limits against floods.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Prometheus metrics and the health check over HTTP.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `[metrics]`: an HTTP listener serving `/metrics` (Prometheus text) and
/// `/health`. Off unless `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address and port to listen on, e.g. `127.0.0.1:9347`.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
}

/// `[limits]`: per-sender rate limits in each room (token buckets, as
/// Prosody's mod_muc_limits): a sustained rate per second and a burst.
/// Over the limit a message or presence is refused with
/// `resource-constraint` (wait) and nothing is archived. A rate of 0 turns
/// that limit off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Room messages (both views) per second a sender may keep up.
    #[serde(default = "default_message_rate")]
    pub message_rate: f64,
    /// How many messages a sender may send at once before the rate counts.
    #[serde(default = "default_burst")]
    pub message_burst: u32,
    /// Presence (entering a room, a presence update; MIX client presence)
    /// per second a sender may keep up. Leaving is never limited.
    #[serde(default = "default_presence_rate")]
    pub presence_rate: f64,
    #[serde(default = "default_burst")]
    pub presence_burst: u32,
    /// Members, admins and owners (and service admins) are not limited.
    #[serde(default = "default_true")]
    pub exempt_affiliated: bool,
    /// Channels one user may have created (that still exist); 0: no limit.
    /// Service admins are not limited.
    #[serde(default = "default_channels_per_user")]
    pub channels_per_user: i64,
    /// Channels the users of one server may have created; 0: no limit.
    #[serde(default = "default_channels_per_domain")]
    pub channels_per_domain: i64,
    /// How long after sending a sender may still retract its own message,
    /// in seconds; 0: no limit. Moderators are never limited.
    #[serde(default)]
    pub user_retraction_secs: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            message_rate: default_message_rate(),
            message_burst: default_burst(),
            presence_rate: default_presence_rate(),
            presence_burst: default_burst(),
            exempt_affiliated: true,
            channels_per_user: default_channels_per_user(),
            channels_per_domain: default_channels_per_domain(),
            user_retraction_secs: 0,
        }
    }
}

/// `[server]`: the XMPP server's component port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Host name or address of the XMPP server.
    #[serde(default = "default_host")]
    pub host: String,
    /// The server's component port (XEP-0114).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Seconds of silence on a link before mixmuc pings through it.
    #[serde(default = "default_keepalive")]
    pub keepalive_secs: u64,
    /// Upper bound, in seconds, of the delay between reconnection attempts.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_secs: u64,
    /// The server's XEP-0033 multicast service (e.g. the virtual host's
    /// domain with contrib's mod_component_multicast): room messages then
    /// cross the link once per message, not once per recipient. Used only
    /// when its disco#info announces the feature.
    #[serde(default)]
    pub multicast: Option<String>,
    /// Threads running mixmuc's own work (links, dispatcher): 1 (default)
    /// runs everything on one thread, which costs the least CPU per stanza
    /// (no hand-offs between threads; docs/benchmarks.md, "Other measured choices");
    /// more spreads the links' parsing over that many threads. The
    /// database's own threads (SQLite) come on top.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Largest stanza accepted from the server, in bytes (default 262144,
    /// Prosody's own c2s limit). A larger stanza, or one with a name or
    /// attribute value over 8000 bytes, is dropped before parsing and its
    /// sender gets `policy-violation`; the link stays up.
    #[serde(default = "default_max_stanza_bytes")]
    pub max_stanza_bytes: usize,
    /// Bytes each link may hold for the server before the dispatcher waits
    /// (default 33554432, 32 MiB; from 1 MiB to 1 GiB): serialised
    /// stanzas not yet written to the socket, a fan-out counted copy by
    /// copy. While the server does not read, mixmuc stops reading too
    /// instead of growing; everything handled was archived first.
    #[serde(default = "default_send_queue_bytes")]
    pub send_queue_bytes: usize,
}

/// `[mix]` and `[muc]`: one component domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// The component's domain, e.g. `mix.example.org`.
    pub domain: String,
    /// The component secret shared with the server.
    pub secret: Secret,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://path` (file and folder created when missing) or `postgres://…`.
    #[serde(default = "default_store_url")]
    pub url: String,
    /// PostgreSQL schema to use (created when missing); ignored for SQLite.
    #[serde(default)]
    pub schema: Option<String>,
    /// Maximum number of database connections; when unset, 4 for SQLite
    /// (one writer at a time; each connection is a thread with its own
    /// caches) and 8 for PostgreSQL (`StoreConfig::pool_size`). One is kept
    /// for the archive's appends (`store/appender.rs`), the others pooled;
    /// the pool keeps at least one, so `1` means two connections.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// SQLite only: page cache per connection, in KiB (SQLite's
    /// `cache_size`). Bounds the store's share of mixmuc's memory:
    /// `max_connections × sqlite_cache_kib`.
    #[serde(default = "default_sqlite_cache_kib")]
    pub sqlite_cache_kib: u32,
    /// How long a request waits for a database connection, in ms, before it
    /// is answered `internal-server-error` (type `wait`) and the store is
    /// taken for unavailable: then every request that needs it is answered
    /// so at once, without waiting, until a connection succeeds again
    /// (tried every half second; docs/security.md "Store outages").
    /// Requests are handled one after the other, so this is also the
    /// longest the whole service stalls when the store goes away; a
    /// PostgreSQL restart shorter than it is not seen by clients.
    /// Default 2000.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Bare JIDs with every right on every channel; they also run the
    /// service's ad-hoc commands (XEP-0050) on both domains.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Who may create channels: `"local"` (the default: users of
    /// `local_domains`), `"anyone"`, or a list of bare JIDs. Service admins
    /// always may.
    #[serde(default)]
    pub create_channels: CreatePolicy,
    /// Domains whose users count as local for `create_channels = "local"`;
    /// empty (the default): the parent domains of the MIX and MUC domains
    /// (`mix.example.org` → `example.org`), the server the component serves.
    #[serde(default)]
    pub local_domains: Vec<String>,
    /// Keep the archive of a destroyed channel in the store (it is no longer
    /// reachable through XMPP; an operator can export it). Default: removed.
    #[serde(default)]
    pub keep_archive_on_destroy: bool,
    /// Whether new channels show their participants' real JIDs:
    /// `"hidden"` (default, as Prosody's and ejabberd's MUC create rooms:
    /// semi-anonymous in the MUC view, real JIDs to moderators only; MIX
    /// jid-hidden), `"maybe-visible"` (MIX jid-maybe-visible: each
    /// participant's JID shown when its preference is `always`) or
    /// `"visible"` (non-anonymous; MIX jid-visible). Owners change it per
    /// room (muc#owner `whois`, MIX info node 'JID Visibility').
    #[serde(default)]
    pub jid_visibility: JidVisibility,
    /// Housekeeping of sessions that vanished without a word (docs/muc.md
    /// "Housekeeping"): a MUC occupant or online MIX client with no sign of
    /// life (entering, a presence, any stanza to the channel, an answer to
    /// a ping) for this many seconds is sent an XEP-0199 ping from the
    /// room's (channel's) JID; no answer by the next round, or an error
    /// that says the session is gone, removes it (MUC status 333, MIX
    /// unavailable). Rounds run every quarter of it. 0 disables. Default
    /// 900 (15 minutes).
    #[serde(default = "default_idle_session_check")]
    pub idle_session_check_secs: u64,
    /// At most this many pings per round (the longest silent first; the
    /// others wait for a later round). Default 1000.
    #[serde(default = "default_idle_session_pings")]
    pub idle_session_pings_per_round: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            admins: Vec::new(),
            create_channels: CreatePolicy::default(),
            local_domains: Vec::new(),
            keep_archive_on_destroy: false,
            jid_visibility: JidVisibility::default(),
            idle_session_check_secs: default_idle_session_check(),
            idle_session_pings_per_round: default_idle_session_pings(),
        }
    }
}

/// The JID visibility of new channels (`[service] jid_visibility`) and of
/// each channel (stored).
/// A channel's JID visibility mode (XEP-0404; XEP-0045 anonymity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JidVisibility {
    /// Real JIDs to administrators and moderators only (MUC semi-anonymous).
    #[default]
    Hidden,
    /// Each participant's real JID shown when its preference says `always`.
    MaybeVisible,
    /// Real JIDs to everyone (MUC non-anonymous).
    Visible,
}

impl JidVisibility {
    /// The stored value (also the config's).
    pub fn as_str(self) -> &'static str {
        match self {
            JidVisibility::Hidden => "hidden",
            JidVisibility::MaybeVisible => "maybe-visible",
            JidVisibility::Visible => "visible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hidden" => JidVisibility::Hidden,
            "maybe-visible" => JidVisibility::MaybeVisible,
            "visible" => JidVisibility::Visible,
            _ => return None,
        })
    }
}


/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `mixmuc=debug,info`.
    #[serde(default = "default_log_filter")]
    pub filter: String,
    /// `text` (the default: one line per event) or `json` (one JSON object
    /// per line, for log collectors).
    #[serde(default)]
    pub format: LogFormat,
}

/// `[log] format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Who may create channels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CreatePolicy {
    Anyone,
    /// Users of the local domains (the default: a public service should not
    /// let the whole network create rooms on it).
    #[default]
    Local,
    Listed(Vec<BareJid>),
}

/// A secret: never printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl<'de> Deserialize<'de> for CreatePolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "anyone" => Ok(CreatePolicy::Anyone),
            Raw::Word(w) if w == "local" => Ok(CreatePolicy::Local),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "expected \"anyone\", \"local\" or a list of bare JIDs, found \"{w}\""
            ))),
            Raw::List(l) => l
                .iter()
                .map(|s| parse_bare(s).map_err(serde::de::Error::custom))
                .collect::<Result<_, _>>()
                .map(CreatePolicy::Listed),
        }
    }
}

impl StoreConfig {
    /// The pool size: `max_connections`, or the backend's default.
    pub fn pool_size(&self) -> u32 {
        self.max_connections.unwrap_or(if self.url.starts_with("sqlite:") { 4 } else { 8 })
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: default_store_url(),
            schema: None,
            max_connections: None,
            sqlite_cache_kib: default_sqlite_cache_kib(),
            acquire_timeout_ms: default_acquire_timeout_ms(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: default_log_filter(),
            format: LogFormat::default(),
        }
    }
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    5347
}
fn default_keepalive() -> u64 {
    60
}
fn default_max_backoff() -> u64 {
    30
}
fn default_threads() -> usize {
    1
}
fn default_message_rate() -> f64 {
    1.0
}
fn default_presence_rate() -> f64 {
    0.5
}
fn default_burst() -> u32 {
    10
}
fn default_true() -> bool {
    true
}
fn default_channels_per_user() -> i64 {
    100
}
fn default_channels_per_domain() -> i64 {
    10_000
}
fn default_max_stanza_bytes() -> usize {
    256 * 1024
}
fn default_send_queue_bytes() -> usize {
    32 * 1024 * 1024
}
fn default_store_url() -> String {
    "sqlite://data/mixmuc.db".into()
}
fn default_sqlite_cache_kib() -> u32 {
    2000
}
fn default_acquire_timeout_ms() -> u64 {
    2000
}
fn default_idle_session_check() -> u64 {
    900
}
fn default_idle_session_pings() -> usize {
    1000
}
fn default_log_filter() -> String {
    "info".into()
}

fn parse_bare(s: &str) -> Result<BareJid, String> {
    BareJid::new(s).map_err(|e| format!("\"{s}\" is not a bare JID: {e}"))
}

/// The top-level sections, the only ones read from the environment.
const SECTIONS: &[&str] = &["server", "mix", "muc", "store", "service", "limits", "log", "metrics"];

/// A configuration error, with the offending key where known.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the file (which must exist) and the environment, then checks.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        if !path.exists() {
            let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "?".into());
            return Err(ConfigError(format!(
                "configuration file {} not found (working directory {cwd}): copy config/mixmuc.example.toml to it and edit it, or name another with --config",
                path.display()
            )));
        }
        Self::from_figment(
            Figment::new()
                .merge(Toml::file(path))
                // Only the configuration's sections: other MIXMUC_* variables
                // (a test's, a script's) are not configuration.
                .merge(Env::prefixed("MIXMUC_").split("__").filter(|k| {
                    let section = k.as_str().split(['.', '_']).next().unwrap_or("").to_ascii_lowercase();
                    SECTIONS.contains(&section.as_str())
                })),
        )
    }

    /// Parses a TOML text alone (tests, examples).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    fn from_figment(f: Figment) -> Result<Config, ConfigError> {
        let cfg: Config = f.extract().map_err(|e| {
            ConfigError(
                e.into_iter()
                    .map(|e| {
                        let mut path = e.path.clone();
                        // An unknown key: its own name, not only its section's.
                        if let figment::error::Kind::UnknownField(found, _) = &e.kind {
                            if path.last() != Some(found) {
                                path.push(found.clone());
                            }
                        }
                        let key = path.join(".");
                        if key.is_empty() {
                            format!("configuration: {}", describe(&e.kind))
                        } else {
                            format!("configuration key `{key}`: {}", describe(&e.kind))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let err = |k: &str, m: String| Err(ConfigError(format!("configuration key `{k}`: {m}")));
        for (key, d) in [("mix.domain", &self.mix), ("muc.domain", &self.muc)] {
            match BareJid::new(&d.domain) {
                Ok(j) if j.node().is_none() => {}
                _ => return err(key, format!("\"{}\" is not a domain name", d.domain)),
            }
            if d.secret.0.is_empty() {
                return err(&key.replace("domain", "secret"), "must not be empty".into());
            }
        }
        if self.mix.domain == self.muc.domain {
            return err("muc.domain", "must differ from mix.domain".into());
        }
        if self.server.port == 0 {
            return err("server.port", "must not be 0".into());
        }
        if self.server.keepalive_secs == 0 {
            return err("server.keepalive_secs", "must be at least 1".into());
        }
        if self.server.max_backoff_secs == 0 {
            return err("server.max_backoff_secs", "must be at least 1".into());
        }
        if !(1..=256).contains(&self.server.threads) {
            return err("server.threads", format!("must be between 1 and 256, not {}", self.server.threads));
        }
        if !(1 << 20..=1 << 30).contains(&self.server.send_queue_bytes) {
            return err("server.send_queue_bytes", format!("must be between 1048576 (1 MiB) and 1073741824 (1 GiB), not {}", self.server.send_queue_bytes));
        }
        if let Some(m) = &self.server.multicast {
            match xmpp_parsers::jid::Jid::new(m) {
                Ok(j) if j.node().is_none() && j.resource().is_none() => {}
                _ => return err("server.multicast", format!("\"{m}\" is not a domain (the server's multicast service, e.g. example.org)")),
            }
            if *m == self.mix.domain || *m == self.muc.domain {
                return err("server.multicast", "must be the server's multicast service, not one of mixmuc's domains".into());
            }
        }
        if !(self.store.url.starts_with("sqlite:") || self.store.url.starts_with("postgres://")
            || self.store.url.starts_with("postgresql://"))
        {
            return err("store.url", format!("\"{}\" is neither sqlite: nor postgres://", redact_url(&self.store.url)));
        }
        if self.store.max_connections == Some(0) {
            return err("store.max_connections", "must be at least 1".into());
        }
        if !(100..=60_000).contains(&self.store.acquire_timeout_ms) {
            return err("store.acquire_timeout_ms", "must be between 100 and 60000 (ms)".into());
        }
        if !(64..=1_048_576).contains(&self.store.sqlite_cache_kib) {
            return err("store.sqlite_cache_kib", "must be between 64 and 1048576 (KiB per connection)".into());
        }
        if let Some(s) = &self.store.schema {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return err("store.schema", "letters, digits and _ only".into());
            }
        }
        for a in &self.service.admins {
            if let Err(m) = parse_bare(a) {
                return err("service.admins", m);
            }
        }
        if self.service.idle_session_pings_per_round == 0 {
            return err("service.idle_session_pings_per_round", "must be at least 1 (idle_session_check_secs = 0 turns the check off)".into());
        }
        if self.service.idle_session_check_secs > 366 * 86_400 {
            return err("service.idle_session_check_secs", "must be at most a year (0 turns the check off)".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return err("log.filter", e.to_string());
        }
        if let Err(m) = check_log_filter(&self.log.filter) {
            return err("log.filter", m);
        }
        Ok(())
    }

    /// What is valid but probably a mistake, one sentence each, for
    /// `check-config` and the start of `serve`: the example's placeholder
    /// secrets (`change-me-…`) still in place.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, d) in [("mix.secret", &self.mix), ("muc.secret", &self.muc)] {
            if d.secret.0.starts_with("change-me") {
                out.push(format!(
                    "configuration key `{key}` is still the example's placeholder (change-me-…): anyone who reads the example can attach to the server as {}; set a secret of your own here and as that Component's component_secret on the server",
                    d.domain
                ));
            }
        }
        out
    }

    /// Service admins as JIDs (checked at load).
    pub fn admins(&self) -> Vec<BareJid> {
        self.service.admins.iter().filter_map(|a| BareJid::new(a).ok()).collect()
    }
}

/// A figment error's kind in words (its own `Display` nests backticks in
/// the lists of expected names).
fn describe(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::UnknownField(_, expected) => format!("unknown key (expected one of: {})", expected.join(", ")),
        Kind::UnknownVariant(found, expected) => format!("unknown value \"{found}\" (expected one of: {})", expected.join(", ")),
        other => other.to_string(),
    }
}

/// Levels a `[log] filter` directive may be alone.
const LOG_LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
/// Crates whose name alone (or a module path under it) is a useful
/// directive without a level: everything they log.
const LOG_CRATES: &[&str] = &["mixmuc", "tokio_xmpp", "xmpp_parsers", "xso", "minidom", "sqlx", "tokio"];

/// `EnvFilter` reads any bare word as a target to log at every level
/// (`filter = "loud"`: nothing at all is logged but a crate named loud's
/// output). A directive without `=` must be a level, or a target under one
/// of `LOG_CRATES`; `target=level` and span directives (`[…]`) are taken
/// as written.
fn check_log_filter(filter: &str) -> Result<(), String> {
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if directive.contains('=') || directive.contains('[') {
            continue;
        }
        if LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(directive)) {
            continue;
        }
        let krate = directive.split("::").next().unwrap_or(directive);
        if LOG_CRATES.contains(&krate) {
            continue;
        }
        return Err(format!(
            "\"{directive}\" is neither a level ({}) nor target=level (e.g. mixmuc::link=debug), nor a target of {}",
            LOG_LEVELS.join(", "),
            LOG_CRATES.join(", ")
        ));
    }
    Ok(())
}

/// The store URL without a password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
        [server]
        port = 5347
        [mix]
        domain = "mix.example"
        secret = "s1"
        [muc]
        domain = "muc.example"
        secret = "s2"
    "#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_toml(MIN).unwrap();
        assert_eq!(c.store.url, "sqlite://data/mixmuc.db");
        assert_eq!(c.service.create_channels, CreatePolicy::Local);
        assert_eq!(c.server.host, "127.0.0.1");
        assert_eq!(c.server.threads, 1);
        assert_eq!(c.server.send_queue_bytes, 32 * 1024 * 1024);
        assert_eq!(c.service.jid_visibility, JidVisibility::Hidden, "new rooms semi-anonymous, as Prosody's and ejabberd's");
    }

    #[test]
    fn thread_count_is_checked() {
        let e = Config::from_toml(&MIN.replace("port = 5347", "port = 5347\nthreads = 0")).unwrap_err();
        assert!(e.to_string().contains("server.threads"), "{e}");
        let c = Config::from_toml(&MIN.replace("port = 5347", "port = 5347\nthreads = 2")).unwrap();
        assert_eq!(c.server.threads, 2);
    }

    #[test]
    fn send_queue_bound_is_checked() {
        for bad in ["1000", "2000000000"] {
            let e = Config::from_toml(&MIN.replace("port = 5347", &format!("port = 5347\nsend_queue_bytes = {bad}"))).unwrap_err();
            assert!(e.to_string().contains("server.send_queue_bytes"), "{e}");
        }
        let c = Config::from_toml(&MIN.replace("port = 5347", "port = 5347\nsend_queue_bytes = 1048576")).unwrap();
        assert_eq!(c.server.send_queue_bytes, 1 << 20);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml(&format!("{MIN}\n[store]\nurll = \"x\"\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key `store.urll`: unknown key (expected one of: url, schema, max_connections, sqlite_cache_kib, acquire_timeout_ms)"
        );
        let e = Config::from_toml(&format!("{MIN}\n[stor]\nurl = \"x\"\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key `stor`: unknown key (expected one of: server, mix, muc, store, service, log, limits, metrics)"
        );
    }

    #[test]
    fn unknown_value_lists_the_choices() {
        let e = Config::from_toml(&format!("{MIN}\n[service]\njid_visibility = \"public\"\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key `service.jid_visibility`: unknown value \"public\" (expected one of: hidden, maybe-visible, visible)"
        );
    }

    #[test]
    fn missing_file_says_to_copy_the_example() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load(&dir.path().join("mixmuc.toml")).unwrap_err().to_string();
        assert!(e.contains("not found") && e.contains("copy config/mixmuc.example.toml"), "{e}");
    }

    #[test]
    fn log_filter_bare_word_must_be_a_level_or_a_known_target() {
        let with = |f: &str| Config::from_toml(&format!("{MIN}\n[log]\nfilter = \"{f}\"\n"));
        for bad in ["loud", "info,verbose", "mixmucc"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.starts_with("configuration key `log.filter`: "), "{bad}: {e}");
            assert!(e.contains("is neither a level"), "{bad}: {e}");
        }
        for good in ["info", "WARN", "mixmuc::link=debug,info", "mixmuc", "sqlx::query", "tokio_xmpp=trace", "off", "[stanza]=debug", ""] {
            with(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        // EnvFilter's own errors still come first.
        assert!(with("mixmuc=loudest").unwrap_err().to_string().contains("log.filter"));
    }

    #[test]
    fn placeholder_secrets_are_warned_about() {
        assert!(Config::from_toml(MIN).unwrap().warnings().is_empty());
        let c = Config::from_toml(&MIN.replace("\"s1\"", "\"change-me-mix\"")).unwrap();
        let w = c.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("`mix.secret`") && w[0].contains("mix.example"), "{w:?}");
        assert!(!w[0].contains("change-me-mix"), "the secret itself is not shown: {w:?}");
        let example = Config::from_toml(include_str!("../config/mixmuc.example.toml")).unwrap();
        assert_eq!(example.warnings().len(), 2, "the example's two placeholders");
    }

    #[test]
    fn invalid_policy_is_named() {
        let e = Config::from_toml(&format!("{MIN}\n[service]\ncreate_channels = \"everyone\"\n")).unwrap_err();
        assert!(e.to_string().contains("create_channels"), "{e}");
        let c = Config::from_toml(&format!("{MIN}\n[service]\ncreate_channels = [\"a@b.example\"]\n")).unwrap();
        assert_eq!(c.service.create_channels, CreatePolicy::Listed(vec![BareJid::new("a@b.example").unwrap()]));
    }

    #[test]
    fn secret_is_not_printed() {
        let c = Config::from_toml(MIN).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s1") && !shown.contains("s2"), "{shown}");
    }

    #[test]
    fn password_in_url_is_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn environment_outside_the_sections_is_ignored_inside_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, MIN).unwrap();
        std::env::set_var("MIXMUC_ZZTEST_PG_URL", "postgres://x");
        std::env::set_var("MIXMUC_LOG__FILTER", "debug");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.log.filter, "debug");
        std::env::set_var("MIXMUC_LOG__FILTR", "debug");
        let e = Config::load(&path).unwrap_err();
        std::env::remove_var("MIXMUC_LOG__FILTR");
        std::env::remove_var("MIXMUC_LOG__FILTER");
        std::env::remove_var("MIXMUC_ZZTEST_PG_URL");
        assert!(e.to_string().contains("filtr"), "{e}");
    }

    #[test]
    fn same_domains_rejected() {
        let e = Config::from_toml(&MIN.replace("muc.example", "mix.example")).unwrap_err();
        assert!(e.to_string().contains("muc.domain"), "{e}");
    }
}
