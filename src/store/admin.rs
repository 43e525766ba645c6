//! What the host's commands read (`mixmuc admin channels`, `admin show`):
//! each channel with its counts and its last activity, in one statement.
//! (`admin destroy` is the service's own `delete_channel`.)

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{ChannelRow, Store};
use crate::error::Result;

/// A channel's counts and its last activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub name: String,
    /// Users the channel knows in either view: MIX participants and users
    /// in the room through MUC.
    pub participants: i64,
    /// Of those, the ones that joined through MIX (kept across sessions).
    pub mix_participants: i64,
    /// MUC sessions in the room (full JIDs).
    pub occupants: i64,
    /// Rows of the archive (messages, and retractions, which are archived
    /// as messages of their own).
    pub messages: i64,
    /// When something last happened in it (ms since the epoch): the latest
    /// of its creation, last configuration, subject, a participant's
    /// joining, a session's last sign of life, and its last message.
    pub last_activity: i64,
}

/// One channel in full: its row, who is affiliated, its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDetail {
    pub row: ChannelRow,
    pub summary: ChannelSummary,
    /// (bare JID, affiliation), by affiliation then JID.
    pub affiliations: Vec<(String, String)>,
    /// Nicks registered in this channel (not the service-wide ones).
    pub registered_nicks: i64,
    /// Online MIX clients (the presence node).
    pub mix_clients: i64,
    /// When the last message was archived (ms), if any.
    pub last_message_at: Option<i64>,
}

/// Each column of a summary, computed per channel `c` by subqueries (each
/// an index lookup, or one row of `archive_counts`).
const SUMMARY: &str = "SELECT c.name AS name, \
     (SELECT COUNT(*) FROM participants p WHERE p.channel = c.name) AS participants, \
     (SELECT COUNT(*) FROM participants p WHERE p.channel = c.name AND p.via_mix <> 0) AS mix_participants, \
     (SELECT COUNT(*) FROM occupants o WHERE o.channel = c.name) AS occupants, \
     COALESCE((SELECT n FROM archive_counts a WHERE a.channel = c.name), 0) AS messages, \
     COALESCE((SELECT a.ts FROM archive a WHERE a.channel = c.name ORDER BY a.seq DESC LIMIT 1), 0) AS last_message, \
     COALESCE((SELECT MAX(o.seen_at) FROM occupants o WHERE o.channel = c.name), 0) AS occupant_seen, \
     COALESCE((SELECT MAX(m.seen_at) FROM mix_presence m WHERE m.channel = c.name), 0) AS client_seen, \
     COALESCE((SELECT MAX(p.joined_at) FROM participants p WHERE p.channel = c.name), 0) AS joined, \
     c.created_at AS created_at, c.config_at AS config_at, c.subject_at AS subject_at \
     FROM channels c";

impl<'r> FromRow<'r, AnyRow> for ChannelSummary {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        let mut last = 0i64;
        for col in ["last_message", "occupant_seen", "client_seen", "joined", "created_at", "config_at", "subject_at"] {
            last = last.max(r.try_get::<i64, _>(col)?);
        }
        Ok(ChannelSummary {
            name: r.try_get("name")?,
            participants: r.try_get("participants")?,
            mix_participants: r.try_get("mix_participants")?,
            occupants: r.try_get("occupants")?,
            messages: r.try_get("messages")?,
            last_activity: last,
        })
    }
}

impl Store {
    /// Every channel's summary, by name.
    pub async fn channel_summaries(&self) -> Result<Vec<ChannelSummary>> {
        Ok(sqlx::query_as::<_, ChannelSummary>(sqlx::AssertSqlSafe(format!("{SUMMARY} ORDER BY c.name")))
            .fetch_all(&mut *self.conn().await?)
            .await?)
    }

    /// One channel in full, if it exists.
    pub async fn channel_detail(&self, name: &str) -> Result<Option<ChannelDetail>> {
        let Some(row) = self.get_channel(name).await? else { return Ok(None) };
        let mut conn = self.conn().await?;
        let summary = sqlx::query_as::<_, ChannelSummary>(sqlx::AssertSqlSafe(format!("{SUMMARY} WHERE c.name = $1")))
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        // Removed between the two statements.
        let Some(summary) = summary else { return Ok(None) };
        let mut affiliations = sqlx::query_as::<_, (String, String)>("SELECT jid, affiliation FROM affiliations WHERE channel = $1")
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
        let rank = |a: &str| ["owner", "admin", "member", "outcast"].iter().position(|x| *x == a).unwrap_or(4);
        affiliations.sort_by(|(j1, a1), (j2, a2)| rank(a1).cmp(&rank(a2)).then_with(|| j1.cmp(j2)));
        let registered_nicks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registered_nicks WHERE channel = $1").bind(name).fetch_one(&mut *conn).await?;
        let mix_clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mix_presence WHERE channel = $1").bind(name).fetch_one(&mut *conn).await?;
        let last_message_at: Option<i64> = sqlx::query_scalar("SELECT ts FROM archive WHERE channel = $1 ORDER BY seq DESC LIMIT 1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(Some(ChannelDetail { row, summary, affiliations, registered_nicks, mix_clients, last_message_at }))
    }
}
