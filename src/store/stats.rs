//! Totals over the whole store, for the metrics (`metrics/http.rs`) and
//! the health check: a few rows' reads, not scans of the archive (its
//! size comes from `archive_counts`, kept by triggers).

use super::Store;
use crate::error::Result;

/// What the store holds, service-wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub channels: i64,
    /// Rows of `participants`: MIX participants and MUC members with a nick.
    pub participants: i64,
    /// MUC occupant sessions (one per full JID and room).
    pub occupants: i64,
    /// Archived messages (tombstones and retractions included).
    pub archive_rows: i64,
}

impl Store {
    /// Counts of channels, memberships, occupant sessions and archived
    /// messages, in one statement.
    pub async fn totals(&self) -> Result<Totals> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM channels), (SELECT COUNT(*) FROM participants), \
             (SELECT COUNT(*) FROM occupants), (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM archive_counts)",
        )
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(Totals { channels: row.0, participants: row.1, occupants: row.2, archive_rows: row.3 })
    }

    /// Whether the database answers a trivial statement (the health check).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&mut *self.conn().await?).await?;
        Ok(())
    }
}
