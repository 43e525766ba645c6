//! The `mixmuc` command: serve, migrate, check-config, import.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mixmuc::config::Config;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "mixmuc", version, about = "MIX and mirrored MUC component for XMPP servers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Attach to the XMPP server and serve both domains.
    Serve {
        #[arg(long, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Check the configuration and exit.
    CheckConfig {
        #[arg(long, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Import the rooms of another MUC service into the store
    /// (docs/deploy/migrate.md).
    #[command(subcommand)]
    Import(ImportFrom),
}

#[derive(Subcommand)]
enum ImportFrom {
    /// From a Prosody 0.12 MUC component's storage (SQL on SQLite, or internal files).
    Prosody(ProsodyImport),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["sql", "data_dir"])))]
struct ProsodyImport {
    #[arg(long, default_value = "config/mixmuc.toml")]
    config: PathBuf,
    /// Prosody's SQLite database (mod_storage_sql).
    #[arg(long, value_name = "PATH")]
    sql: Option<PathBuf>,
    /// Prosody's data folder (internal storage).
    #[arg(long, value_name = "PATH")]
    data_dir: Option<PathBuf>,
    /// The MUC component's domain in Prosody.
    #[arg(long, value_name = "MUC_DOMAIN")]
    host: String,
    /// Read and check everything; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replace rooms that mixmuc has with other settings.
    #[arg(long)]
    overwrite: bool,
}

impl ProsodyImport {
    fn options(&self) -> Result<mixmuc::import::Options, String> {
        let source = match (&self.sql, &self.data_dir) {
            (Some(p), None) => mixmuc::import::Source::ProsodySql(p.clone()),
            (None, Some(p)) => mixmuc::import::Source::ProsodyFiles(p.clone()),
            _ => return Err("give one of --sql or --data-dir".into()),
        };
        Ok(mixmuc::import::Options { source, host: self.host.clone(), dry_run: self.dry_run, overwrite: self.overwrite })
    }
}

/// glibc gives every thread that allocates an arena of its own (up to 8 per
/// core); the tokio workers and sqlx's SQLite threads each keep pages of
/// theirs. Two arenas are enough for this process: measured, ~0.6 MB less
/// RSS with 5,000 memberships (docs/benchmarks.md). `MALLOC_ARENA_MAX` in
/// the environment still decides when set.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let path = match &cli.command {
        Command::Serve { config } | Command::Migrate { config } | Command::CheckConfig { config } => config.clone(),
        Command::Import(ImportFrom::Prosody(p)) => p.config.clone(),
    };
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mixmuc: {e}");
            return ExitCode::from(2);
        }
    };
    let logging = mixmuc::logging::Logging::init(&cfg.log);
    let mut builder = match cfg.server.threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mixmuc: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Ok(false): done, with problems to report in the exit code.
    let result: Result<bool, String> = rt.block_on(async {
        match cli.command {
            Command::CheckConfig { .. } => {
                println!("configuration {} is valid (mix {}, muc {}, store {})", path.display(), cfg.mix.domain, cfg.muc.domain, mixmuc::config::redact_url(&cfg.store.url));
                Ok(true)
            }
            Command::Migrate { .. } => {
                let store = mixmuc::store::Store::connect(&cfg.store).await.map_err(|e| e.to_string())?;
                let report = store.migrate().await.map_err(|e| e.to_string())?;
                println!("schema version {} (was {})", report.after, report.before.map(|v| v.to_string()).unwrap_or_else(|| "empty".into()));
                store.close().await;
                Ok(true)
            }
            Command::Serve { .. } => {
                let reload = mixmuc::app::Reload { path: path.clone(), logging };
                mixmuc::app::serve(cfg, Some(reload)).await.map(|()| true).map_err(|e| e.to_string())
            }
            Command::Import(ImportFrom::Prosody(p)) => {
                let options = p.options()?;
                let store = mixmuc::store::Store::open(&cfg.store).await.map_err(|e| e.to_string())?;
                let summary = mixmuc::import::run(&store, &cfg.muc.domain.to_string(), &options).await;
                store.close().await;
                Ok(summary?.rooms_skipped == 0)
            }
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("mixmuc: {e}");
            ExitCode::FAILURE
        }
    }
}
