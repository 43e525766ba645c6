//! MUC occupants: the sessions (full JIDs) present in a room.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use xmpp_parsers::jid::Jid;

use super::Store;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccupantRow {
    /// Parsed once when the row is read, so that a message's fan-out does
    /// not parse every recipient's JID again. (Stored as a JID mixmuc
    /// parsed; a row that no longer parses fails to load.)
    pub full_jid: Jid,
    /// The session's bare JID (its participant).
    pub jid: String,
    pub joined_at: i64,
    /// What the session last said about its availability (a serialised
    /// `<presence/>`, see `channel::presence`); None = plain available.
    pub presence: Option<String>,
    /// When `presence` was last set (ms).
    pub updated_at: i64,
}

impl<'r> FromRow<'r, AnyRow> for OccupantRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        let full_jid: String = r.try_get("full_jid")?;
        let full_jid = full_jid.parse().map_err(|e| sqlx::Error::Decode(format!("occupants.full_jid {full_jid:?}: {e}").into()))?;
        Ok(OccupantRow {
            full_jid,
            jid: r.try_get("jid")?,
            joined_at: r.try_get("joined_at")?,
            presence: r.try_get("presence")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

impl Store {
    /// Records a session as present. Returns false when it already was.
    pub async fn add_occupant(&self, channel: &str, full_jid: &str, jid: &str, now: i64) -> Result<bool> {
        Ok(sqlx::query("INSERT INTO occupants (channel, full_jid, jid, joined_at, updated_at, seen_at) VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (channel, full_jid) DO NOTHING")
            .bind(channel)
            .bind(full_jid)
            .bind(jid)
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }

    /// Removes a session. Returns false when it was not present.
    pub async fn remove_occupant(&self, channel: &str, full_jid: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM occupants WHERE channel = $1 AND full_jid = $2")
            .bind(channel)
            .bind(full_jid)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }

    /// Every session present in a room.
    pub async fn list_occupants(&self, channel: &str) -> Result<Vec<OccupantRow>> {
        Ok(sqlx::query_as::<_, OccupantRow>("SELECT full_jid, jid, joined_at, presence, updated_at FROM occupants WHERE channel = $1 ORDER BY joined_at, full_jid")
            .bind(channel)
            .fetch_all(&mut *self.conn().await?)
            .await?)
    }
}
