//! `mixmuc backup PATH [--force]`: the store's copy (`store::backup_sqlite`),
//! said in a line.

use std::path::Path;

use super::CliError;
use crate::config::Config;
use crate::store::backup_sqlite;

/// Copies the store of `cfg` to `path`; the line to print.
pub async fn run(cfg: &Config, path: &Path, force: bool) -> Result<String, CliError> {
    let r = backup_sqlite(&cfg.store, path, force).await?;
    Ok(format!(
        "backup written to {}: {} bytes ({:.1} MiB), schema version {}, {} channels, {} archive rows, in {} ms\n",
        r.path.display(),
        r.bytes,
        r.bytes as f64 / (1024.0 * 1024.0),
        r.schema_version,
        r.channels,
        r.archive_rows,
        r.elapsed_ms
    ))
}
