//! Participants: one row per user and channel, across sessions; the nick
//! namespace of a channel (one for both views).

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::preferences::Preferences;
use super::Store;
use crate::error::{Error, Result};

/// A participant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRow {
    /// Real bare JID.
    pub jid: String,
    /// Stable participant id (never contains `#`, `/` or `@`).
    pub participant_id: String,
    pub nick: Option<String>,
    /// Subscribed MIX nodes.
    pub nodes: Vec<String>,
    pub joined_at: i64,
    /// Joined through MIX (persists) rather than only present as a MUC occupant.
    pub via_mix: bool,
    /// Role set by a moderator (`visitor`, `participant`, `moderator`);
    /// None = the default role of the participant's affiliation.
    pub role: Option<String>,
    /// Its XEP-0404 preferences.
    pub prefs: Preferences,
}

impl ParticipantRow {
    pub fn subscribed(&self, node: &str) -> bool {
        self.nodes.iter().any(|n| n == node)
    }
}

impl<'r> FromRow<'r, AnyRow> for ParticipantRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        let nodes: String = r.try_get("nodes")?;
        Ok(ParticipantRow {
            jid: r.try_get("jid")?,
            participant_id: r.try_get("participant_id")?,
            nick: r.try_get("nick")?,
            nodes: nodes.split_whitespace().map(str::to_string).collect(),
            joined_at: r.try_get("joined_at")?,
            via_mix: r.try_get::<i64, _>("via_mix")? != 0,
            role: r.try_get("role")?,
            prefs: Preferences::from_columns(&r.try_get::<String, _>("pref_jid")?, &r.try_get::<String, _>("pref_pm")?, &r.try_get::<String, _>("pref_vcard")?, &r.try_get::<String, _>("pref_presence")?),
        })
    }
}

const COLUMNS: &str = "jid, participant_id, nick, nodes, joined_at, via_mix, role, pref_jid, pref_pm, pref_vcard, pref_presence";

/// Is this a violation of a unique constraint (a nick taken)?
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}

impl Store {
    /// Adds a participant, or updates the subscriptions of an existing one
    /// (a repeated join). Returns the row as stored.
    #[tracing::instrument(skip(self, nodes), level = "debug")]
    pub async fn upsert_participant(&self, channel: &str, jid: &str, new_id: &str, nodes: &[String], now: i64) -> Result<ParticipantRow> {
        let nodes = nodes.join(" ");
        sqlx::query(
            "INSERT INTO participants (channel, jid, participant_id, nodes, joined_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (channel, jid) DO UPDATE SET nodes = excluded.nodes, via_mix = 1",
        )
        .bind(channel)
        .bind(jid)
        .bind(new_id)
        .bind(&nodes)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        self.get_participant(channel, jid).await?.ok_or_else(|| Error::internal("participant vanished after upsert"))
    }

    /// Makes a MUC occupant's user a participant (not through MIX, no
    /// subscriptions) unless it is one already. Returns the row and whether
    /// it was created.
    pub async fn ensure_occupant_participant(&self, channel: &str, jid: &str, new_id: &str, now: i64) -> Result<(ParticipantRow, bool)> {
        let created = sqlx::query(
            "INSERT INTO participants (channel, jid, participant_id, nodes, joined_at, via_mix) VALUES ($1, $2, $3, '', $4, 0)
             ON CONFLICT (channel, jid) DO NOTHING",
        )
        .bind(channel)
        .bind(jid)
        .bind(new_id)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected()
            == 1;
        let row = self.get_participant(channel, jid).await?.ok_or_else(|| Error::internal("participant vanished after insert"))?;
        Ok((row, created))
    }

    /// The participant of that real bare JID, if any.
    pub async fn get_participant(&self, channel: &str, jid: &str) -> Result<Option<ParticipantRow>> {
        Ok(sqlx::query_as::<_, ParticipantRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM participants WHERE channel = $1 AND jid = $2")))
            .bind(channel)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Every participant of a channel, oldest first.
    pub async fn list_participants(&self, channel: &str) -> Result<Vec<ParticipantRow>> {
        Ok(sqlx::query_as::<_, ParticipantRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM participants WHERE channel = $1 ORDER BY joined_at, participant_id"
        )))
        .bind(channel)
        .fetch_all(&mut *self.conn().await?)
        .await?)
    }

    /// Sets a participant's nick. `conflict` when another participant of the
    /// channel holds the same `nick_key`.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn set_nick(&self, channel: &str, jid: &str, nick: &str, nick_key: &str) -> Result<()> {
        let r = sqlx::query("UPDATE participants SET nick = $1, nick_key = $2 WHERE channel = $3 AND jid = $4")
            .bind(nick)
            .bind(nick_key)
            .bind(channel)
            .bind(jid)
            .execute(&mut *self.conn().await?)
            .await;
        match r {
            Ok(done) if done.rows_affected() == 1 => Ok(()),
            Ok(_) => Err(Error::item_not_found()),
            Err(e) if is_unique_violation(&e) => Err(Error::conflict("that nick is in use in this channel")),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a participant's subscribed nodes.
    pub async fn set_nodes(&self, channel: &str, jid: &str, nodes: &[String]) -> Result<()> {
        sqlx::query("UPDATE participants SET nodes = $1 WHERE channel = $2 AND jid = $3")
            .bind(nodes.join(" "))
            .bind(channel)
            .bind(jid)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Removes a participant. Returns false when there was none.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn remove_participant(&self, channel: &str, jid: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM participants WHERE channel = $1 AND jid = $2")
            .bind(channel)
            .bind(jid)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }

    /// The affiliation of a JID in a channel (`owner`, `admin`, `member`, `outcast`).
    pub async fn get_affiliation(&self, channel: &str, jid: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT affiliation FROM affiliations WHERE channel = $1 AND jid = $2")
            .bind(channel)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }
}

impl Store {
    /// Every (JID, affiliation) of a channel.
    pub async fn list_affiliations(&self, channel: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT jid, affiliation FROM affiliations WHERE channel = $1").bind(channel).fetch_all(&mut *self.conn().await?).await?;
        rows.iter().map(|r| Ok((r.try_get("jid")?, r.try_get("affiliation")?))).collect::<sqlx::Result<_>>().map_err(Into::into)
    }
}

impl Store {
    /// Makes `jid` a member of the channel unless it has an affiliation
    /// already (an invitation into a members-only room). Returns whether it
    /// was added.
    pub async fn add_member_if_unaffiliated(&self, channel: &str, jid: &str) -> Result<bool> {
        Ok(sqlx::query("INSERT INTO affiliations (channel, jid, affiliation) VALUES ($1, $2, 'member') ON CONFLICT (channel, jid) DO NOTHING")
            .bind(channel)
            .bind(jid)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected()
            == 1)
    }
}
