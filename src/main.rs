//! The `mixmuc` command: serve, migrate, check-config, and the host's
//! commands on the store (admin, backup: `mixmuc::cli`), import
//! (`mixmuc::import`).

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
    /// Apply pending database migrations and exit. Refused (exit status 3)
    /// while the service runs.
    Migrate {
        #[arg(long, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Check the configuration and exit.
    CheckConfig {
        #[arg(long, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Look at the channels in the store, or destroy one (with the service
    /// stopped). Reading works while the service runs.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
        #[arg(long, global = true, default_value = "config/mixmuc.toml")]
        config: PathBuf,
    },
    /// Write a consistent copy of the SQLite store to PATH, also while the
    /// service runs (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write (refused when it exists, unless --force).
        path: PathBuf,
        /// Replace PATH if it exists.
        #[arg(long)]
        force: bool,
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

#[derive(Subcommand)]
enum AdminCommand {
    /// Every channel: participants, MUC occupants, archived messages, last activity.
    Channels,
    /// One channel: its settings, affiliations and counts.
    Show {
        /// The channel's name, or its MIX or MUC JID.
        name: String,
    },
    /// Remove a channel with everything of it, as a destroy by its owner
    /// does. Refused (exit status 3) while the service runs.
    Destroy {
        /// The channel's name, or its MIX or MUC JID.
        name: String,
        /// Why (written to the log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ban a bare JID, or every JID of a domain, from the whole service
    /// (both views, every channel), and take it out of the channels it is
    /// in. Refused (exit status 3) while the service runs: use the service
    /// admins' ad-hoc command then.
    Ban {
        /// A bare JID (user@example.org) or a domain (example.org).
        jid: String,
        /// Why (kept with the ban).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a service-wide ban. Refused (exit status 3) while the service runs.
    Unban {
        /// The banned bare JID or domain.
        jid: String,
    },
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
        Command::Serve { config }
        | Command::Migrate { config }
        | Command::CheckConfig { config }
        | Command::Admin { config, .. }
        | Command::Backup { config, .. } => config.clone(),
        Command::Import(ImportFrom::Prosody(p)) => p.config.clone(),
    };
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mixmuc: {e}");
            return ExitCode::from(2);
        }
    };
    // A copy or a whole-table count is slow by nature: sqlx's "slow
    // statement" warnings would only be noise on a host command's terminal.
    let mut log = cfg.log.clone();
    if let Command::Admin { .. } | Command::Backup { .. } = cli.command {
        log.filter = format!("{},sqlx::query=error", cfg.log.filter);
    }
    let logging = mixmuc::logging::Logging::init(&log);
    // A panic outside a request's handling ends the process with status
    // 101, so that systemd restarts it (src/panics.rs).
    mixmuc::panics::exit_on_uncontained_panics();
    let warnings = cfg.warnings();
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
    match cli.command {
        Command::CheckConfig { .. } => {
            for w in &warnings {
                println!("warning: {w}");
            }
            println!("configuration {} is valid (mix {}, muc {}, store {})", path.display(), cfg.mix.domain, cfg.muc.domain, mixmuc::config::redact_url(&cfg.store.url));
            ExitCode::SUCCESS
        }
        Command::Serve { .. } => {
            for w in &warnings {
                tracing::warn!("{w}");
            }
            let reload = mixmuc::app::Reload { path: path.clone(), logging };
            serve_exit(rt.block_on(mixmuc::app::serve(cfg, Some(reload))))
        }
        Command::Migrate { .. } => rt.block_on(host_command(&cfg, HostCommand::Migrate)),

        Command::Admin { command, .. } => rt.block_on(host_command(&cfg, HostCommand::Admin(command))),
        Command::Backup { path, force, .. } => rt.block_on(host_command(&cfg, HostCommand::Backup { path, force })),
        Command::Import(ImportFrom::Prosody(p)) => rt.block_on(import(&cfg, &p)),
    }
}

/// `mixmuc import prosody`: exit status 1 when a room was skipped (or the
/// import failed), 0 when everything was imported.
async fn import(cfg: &Config, p: &ProsodyImport) -> ExitCode {
    let run = async {
        let options = p.options()?;
        let store = mixmuc::store::Store::open(&cfg.store).await.map_err(|e| e.to_string())?;
        let summary = mixmuc::import::run(&store, &cfg.muc.domain.to_string(), &options).await;
        store.close().await;
        Ok::<bool, String>(summary.map_err(|e| e.to_string())?.rooms_skipped == 0)
    };
    match run.await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("mixmuc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `serve`'s exit status: non-zero when it ends with an error, so that a
/// supervisor restarts it.
fn serve_exit(result: Result<(), mixmuc::app::ServeError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("mixmuc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `migrate`, `admin` and `backup`: what they print goes to standard output, notes
/// and errors to standard error; a refusal because the service runs exits
/// with status 3 (`mixmuc::cli::EXIT_RUNNING`).
enum HostCommand {
    Migrate,
    Admin(AdminCommand),
    Backup { path: PathBuf, force: bool },
}

async fn host_command(cfg: &Config, command: HostCommand) -> ExitCode {
    use mixmuc::cli::admin::AdminCommand as A;
    let result = match command {
        HostCommand::Admin(command) => {
            let cmd = match command {
                AdminCommand::Channels => A::Channels,
                AdminCommand::Show { name } => A::Show { name },
                AdminCommand::Destroy { name, reason } => A::Destroy { name, reason },
                AdminCommand::Ban { jid, reason } => A::Ban { jid, reason },
                AdminCommand::Unban { jid } => A::Unban { jid },
            };
            mixmuc::cli::admin::run(cfg, &cmd).await
        }
        HostCommand::Migrate => mixmuc::cli::migrate::run(cfg).await.map(|out| (out, None)),
        HostCommand::Backup { path, force } => mixmuc::cli::backup::run(cfg, &path, force).await.map(|out| (out, None)),
    };
    match result {
        Ok((out, note)) => {
            print!("{out}");
            if let Some(n) = note {
                eprintln!("{n}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mixmuc: {e}");
            ExitCode::from(e.code)
        }
    }
}
