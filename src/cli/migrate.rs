//! `mixmuc migrate`: pending migrations applied, with no service on the
//! store (a service applies them itself at start).

use super::{refused_while_running, CliError};
use crate::config::Config;
use crate::store::{ServingLock, Store, StoreError};

/// Migrates the store of `cfg`; the line to print.
pub async fn run(cfg: &Config) -> Result<String, CliError> {
    let lock = match ServingLock::admin(&cfg.store).await {
        Ok(l) => l,
        Err(StoreError::Running(why)) => {
            return Err(refused_while_running(
                &why,
                "`migrate` changes the schema under it: stop it and run this again, or start the new mixmuc, which applies pending migrations itself at start",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let done = async {
        let store = Store::connect(&cfg.store).await?;
        let report = store.migrate().await;
        store.close().await;
        let report = report?;
        Ok(format!("schema version {} (was {})\n", report.after, report.before.map(|v| v.to_string()).unwrap_or_else(|| "empty".into())))
    }
    .await;
    lock.release().await;
    done
}
