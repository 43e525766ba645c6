//! The `mixmuc` command: serve, migrate, check-config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    };
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mixmuc: {e}");
            return ExitCode::from(2);
        }
    };
    let logging = mixmuc::logging::Logging::init(&cfg.log);
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
    let result: Result<(), String> = rt.block_on(async {
        match cli.command {
            Command::CheckConfig { .. } => {
                for w in &warnings {
                    println!("warning: {w}");
                }
                println!("configuration {} is valid (mix {}, muc {}, store {})", path.display(), cfg.mix.domain, cfg.muc.domain, mixmuc::config::redact_url(&cfg.store.url));
                Ok(())
            }
            Command::Migrate { .. } => {
                let store = mixmuc::store::Store::connect(&cfg.store).await.map_err(|e| e.to_string())?;
                let report = store.migrate().await.map_err(|e| e.to_string())?;
                println!("schema version {} (was {})", report.after, report.before.map(|v| v.to_string()).unwrap_or_else(|| "empty".into()));
                store.close().await;
                Ok(())
            }
            Command::Serve { .. } => {
                for w in &warnings {
                    tracing::warn!("{w}");
                }
                let reload = mixmuc::app::Reload { path: path.clone(), logging };
                mixmuc::app::serve(cfg, Some(reload)).await.map_err(|e| e.to_string())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("mixmuc: {e}");
            ExitCode::FAILURE
        }
    }
}
