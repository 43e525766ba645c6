//! Channels: create, look up, list, delete.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::Store;
use crate::error::Result;

/// A channel as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub name: String,
    pub creator: String,
    pub created_at: i64,
    pub adhoc: bool,
    pub title: String,
    pub description: String,
    pub subject: String,
    pub subject_by: String,
    /// When the subject was set (ms), 0 if never.
    pub subject_at: i64,
    /// Real JIDs shown to every participant (MIX jid-visible, MUC non-anonymous).
    pub jid_visible: bool,
}

impl<'r> FromRow<'r, AnyRow> for ChannelRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(ChannelRow {
            name: r.try_get("name")?,
            creator: r.try_get("creator")?,
            created_at: r.try_get("created_at")?,
            adhoc: r.try_get::<i64, _>("adhoc")? != 0,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            subject: r.try_get("subject")?,
            subject_by: r.try_get("subject_by")?,
            subject_at: r.try_get("subject_at")?,
            jid_visible: r.try_get::<String, _>("jid_visibility")? == "visible",
        })
    }
}

const COLUMNS: &str = "name, creator, created_at, adhoc, title, description, subject, subject_by, subject_at, jid_visibility";

impl Store {
    /// Inserts a channel with its creator as owner. Returns false when the
    /// name is taken (nothing is changed then).
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn create_channel(&self, name: &str, creator: &str, adhoc: bool, now: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO channels (name, creator, created_at, adhoc) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(creator)
        .bind(now)
        .bind(adhoc as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query("INSERT INTO affiliations (channel, jid, affiliation) VALUES ($1, $2, 'owner')")
                .bind(name)
                .bind(creator)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The channel of that name, if any.
    pub async fn get_channel(&self, name: &str) -> Result<Option<ChannelRow>> {
        Ok(sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channels WHERE name = $1")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every channel, by name.
    pub async fn list_channels(&self) -> Result<Vec<ChannelRow>> {
        Ok(sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channels ORDER BY name")))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Removes a channel with its participants and affiliations; the archive
    /// too when `drop_archive`. Returns false when there was no such channel.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn delete_channel(&self, name: &str, drop_archive: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        for table in ["occupants", "participants", "affiliations"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE channel = $1")))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if drop_archive {
            sqlx::query("DELETE FROM archive WHERE channel = $1").bind(name).execute(&mut *tx).await?;
        }
        let gone = sqlx::query("DELETE FROM channels WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected() == 1;
        tx.commit().await?;
        Ok(gone)
    }
}

impl Store {
    /// Sets the subject (shown in both views).
    pub async fn set_subject(&self, name: &str, subject: &str, by: &str) -> Result<()> {
        sqlx::query("UPDATE channels SET subject = $1, subject_by = $2, subject_at = $3 WHERE name = $4")
            .bind(subject)
            .bind(by)
            .bind(super::now_ms())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Store {
    /// An installation-wide setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?)
    }
}
