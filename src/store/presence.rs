//! Presence: what each MUC session last said (a column of `occupants`) and
//! the MIX presence node's clients (`mix_presence`, XEP-0403), so newcomers
//! and a restarted mixmuc show the current presence.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::Store;
use crate::error::Result;

/// An online MIX client of a participant, as the presence node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixClientRow {
    /// The client's full JID (the item is named by its proxy JID).
    pub full_jid: String,
    /// Its bare JID (the participant).
    pub jid: String,
    /// The serialised `<presence/>` it sent (see `channel::presence`).
    pub presence: String,
    pub updated_at: i64,
}

impl<'r> FromRow<'r, AnyRow> for MixClientRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(MixClientRow {
            full_jid: r.try_get("full_jid")?,
            jid: r.try_get("jid")?,
            presence: r.try_get("presence")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

/// A session silent since `seen_at` (`Store::idle_sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSessionRow {
    pub channel: String,
    pub full_jid: String,
    /// An online MIX client (the presence node); else a MUC occupant.
    pub mix: bool,
    pub seen_at: i64,
}

impl<'r> FromRow<'r, AnyRow> for IdleSessionRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(IdleSessionRow {
            channel: r.try_get("channel")?,
            full_jid: r.try_get("full_jid")?,
            mix: r.try_get::<i64, _>("mix")? != 0,
            seen_at: r.try_get("seen_at")?,
        })
    }
}

impl Store {
    /// Records what a MUC session says about its availability. Returns false
    /// when the session is not in the room.
    #[tracing::instrument(skip(self, presence), level = "debug")]
    pub async fn set_occupant_presence(&self, channel: &str, full_jid: &str, presence: Option<&str>, now: i64) -> Result<bool> {
        Ok(sqlx::query("UPDATE occupants SET presence = $1, updated_at = $2, seen_at = $2 WHERE channel = $3 AND full_jid = $4")
            .bind(presence)
            .bind(now)
            .bind(channel)
            .bind(full_jid)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }

    /// Adds or replaces a MIX client's item in the presence node.
    #[tracing::instrument(skip(self, presence), level = "debug")]
    pub async fn set_mix_presence(&self, channel: &str, full_jid: &str, jid: &str, presence: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO mix_presence (channel, full_jid, jid, presence, updated_at, seen_at) VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (channel, full_jid) DO UPDATE SET presence = excluded.presence, updated_at = excluded.updated_at, seen_at = excluded.seen_at",
        )
        .bind(channel)
        .bind(full_jid)
        .bind(jid)
        .bind(presence)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Removes a MIX client's item. Returns false when there was none.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn remove_mix_presence(&self, channel: &str, full_jid: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM mix_presence WHERE channel = $1 AND full_jid = $2")
            .bind(channel)
            .bind(full_jid)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }

    /// Every online MIX client of a channel, oldest update first.
    pub async fn list_mix_presence(&self, channel: &str) -> Result<Vec<MixClientRow>> {
        Ok(sqlx::query_as::<_, MixClientRow>(
            "SELECT full_jid, jid, presence, updated_at FROM mix_presence WHERE channel = $1 ORDER BY updated_at, full_jid",
        )
        .bind(channel)
        .fetch_all(&mut *self.conn().await?)
        .await?)
    }

    /// Sessions (MUC occupants and online MIX clients, of every channel)
    /// with no sign of life since `before` (ms), the longest silent first,
    /// at most `limit`: a range scan of each table's `seen_at` index.
    pub async fn idle_sessions(&self, before: i64, limit: usize) -> Result<Vec<IdleSessionRow>> {
        Ok(sqlx::query_as::<_, IdleSessionRow>(
            "SELECT channel, full_jid, CAST(0 AS BIGINT) AS mix, seen_at FROM occupants WHERE seen_at < $1
             UNION ALL
             SELECT channel, full_jid, CAST(1 AS BIGINT) AS mix, seen_at FROM mix_presence WHERE seen_at < $1
             ORDER BY seen_at LIMIT $2",
        )
        .bind(before)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *self.conn().await?)
        .await?)
    }

    /// A sign of life of session `full_jid` in `channel` at `at` (ms), as a
    /// MUC occupant and as a MIX client, whichever it is (`seen_at` never
    /// moves back). Returns whether a row changed.
    pub async fn session_seen(&self, channel: &str, full_jid: &str, at: i64) -> Result<bool> {
        let mut n = 0;
        for sql in [
            "UPDATE occupants SET seen_at = $1 WHERE channel = $2 AND full_jid = $3 AND seen_at < $1",
            "UPDATE mix_presence SET seen_at = $1 WHERE channel = $2 AND full_jid = $3 AND seen_at < $1",
        ] {
            n += sqlx::query(sql).bind(at).bind(channel).bind(full_jid).execute(&mut *self.conn().await?).await?.rows_affected();
        }
        Ok(n > 0)
    }
}
