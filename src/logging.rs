//! The process's log: `[log] format` (`text` or `json`, to stderr) and
//! `[log] filter`, which SIGHUP can change while it runs (`Logging::set_filter`,
//! called by `app::serve`). Each line written while a stanza is handled
//! carries that stanza's span (`dispatch::stanza_span`): kind, id, channel,
//! sender's bare JID, from and to.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::config::{LogConfig, LogFormat};

/// The installed subscriber's filter, which can be replaced.
pub struct Logging {
    filter: reload::Handle<EnvFilter, Registry>,
    current: std::sync::Mutex<String>,
}

impl Logging {
    /// Installs the global subscriber (once per process; later calls
    /// return a handle on a filter nobody reads).
    pub fn init(cfg: &LogConfig) -> Logging {
        // Checked at configuration load; "info" is the fallback anyway.
        let (filter, handle) = reload::Layer::new(EnvFilter::try_new(&cfg.filter).unwrap_or_else(|_| EnvFilter::new("info")));
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let registry = tracing_subscriber::registry().with(filter);
        let installed = match cfg.format {
            LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi)).try_init(),
            LogFormat::Json => registry
                .with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false).with_writer(std::io::stderr))
                .try_init(),
        };
        if installed.is_err() {
            eprintln!("mixmuc: a log subscriber was already installed; [log] is not applied");
        }
        Logging { filter: handle, current: std::sync::Mutex::new(cfg.filter.clone()) }
    }

    /// Replaces the filter (SIGHUP). `Ok(false)`: it was the same already.
    pub fn set_filter(&self, filter: &str) -> Result<bool, String> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if *current == filter {
            return Ok(false);
        }
        let new = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
        self.filter.reload(new).map_err(|e| e.to_string())?;
        *current = filter.to_string();
        Ok(true)
    }
}
