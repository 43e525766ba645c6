//! What the service admins' ad-hoc commands read and write: service-wide
//! bans (migration 13), figures per channel and for the whole service, and
//! a channel's archive cleared.

use super::Store;
use crate::error::Result;

/// A service-wide ban as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBan {
    /// A bare JID, or a domain (no `@`).
    pub jid: String,
    /// '' when none was given.
    pub reason: String,
    pub banned_by: String,
    pub banned_at: i64,
}

/// What one channel holds, for the admins' channel list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFigures {
    pub participants: i64,
    /// MUC sessions in the room plus online MIX clients.
    pub online: i64,
    pub messages: i64,
    /// The time of the newest archived message (ms), if there is one.
    pub last_message_at: Option<i64>,
}

/// What the whole service holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFigures {
    pub channels: i64,
    pub participants: i64,
    /// MUC sessions in rooms.
    pub occupants: i64,
    /// Online MIX clients (XEP-0403 presence).
    pub mix_clients: i64,
    pub messages: i64,
    pub bans: i64,
}

impl Store {
    /// Bans `jid` (a bare JID or a domain) from the whole service; a
    /// repeated ban replaces the reason. Returns whether it is new.
    pub async fn add_service_ban(&self, jid: &str, reason: &str, by: &str, now: i64) -> Result<bool> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let existed = sqlx::query("UPDATE service_bans SET reason = $1, banned_by = $2 WHERE jid = $3").bind(reason).bind(by).bind(jid).execute(&mut *tx).await?.rows_affected() == 1;
        if !existed {
            sqlx::query("INSERT INTO service_bans (jid, reason, banned_by, banned_at) VALUES ($1, $2, $3, $4)")
                .bind(jid)
                .bind(reason)
                .bind(by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(!existed)
    }

    /// Lifts a service-wide ban; false when there was none.
    pub async fn remove_service_ban(&self, jid: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM service_bans WHERE jid = $1").bind(jid).execute(&mut *self.conn().await?).await?.rows_affected() == 1)
    }

    /// Whether a bare JID or its domain is banned from the whole service.
    pub async fn service_banned(&self, jid: &str, domain: &str) -> Result<bool> {
        let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM service_bans WHERE jid = $1 OR jid = $2")
            .bind(jid)
            .bind(domain)
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(n > 0)
    }

    /// Every service-wide ban, by JID.
    pub async fn service_bans(&self) -> Result<Vec<ServiceBan>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as("SELECT jid, reason, banned_by, banned_at FROM service_bans ORDER BY jid")
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows.into_iter().map(|(jid, reason, banned_by, banned_at)| ServiceBan { jid, reason, banned_by, banned_at }).collect())
    }

    /// (channel, bare JID) of every participant that is `jid`, or, when
    /// `jid` is a domain, of that domain (the JID itself or `…@domain`).
    pub async fn participants_matching(&self, jid: &str) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = if jid.contains('@') {
            sqlx::query_as("SELECT channel, jid FROM participants WHERE jid = $1 ORDER BY channel").bind(jid).fetch_all(&mut *self.conn().await?).await?
        } else {
            // LIKE finds the candidates; '_' in a domain is a wildcard
            // there, so the exact domain is checked below.
            sqlx::query_as("SELECT channel, jid FROM participants WHERE jid = $1 OR jid LIKE $2 ORDER BY channel, jid")
                .bind(jid)
                .bind(format!("%@{jid}"))
                .fetch_all(&mut *self.conn().await?)
                .await?
        };
        Ok(rows.into_iter().filter(|(_, j)| j == jid || j.rsplit_once('@').is_some_and(|(_, d)| d == jid)).collect())
    }

    /// The figures of each of these channels, in their order: the counts
    /// in one grouped query per table, the last message's time by the
    /// archive's (channel, seq) index, one channel at a time.
    pub async fn channel_figures(&self, names: &[String]) -> Result<Vec<ChannelFigures>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let mut conn = self.conn().await?;
        let list = (1..=names.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let mut counts: Vec<std::collections::HashMap<String, i64>> = Vec::new();
        for sql in [
            format!("SELECT channel, COUNT(*) FROM participants WHERE channel IN ({list}) GROUP BY channel"),
            format!("SELECT channel, COUNT(*) FROM occupants WHERE channel IN ({list}) GROUP BY channel"),
            format!("SELECT channel, COUNT(*) FROM mix_presence WHERE channel IN ({list}) GROUP BY channel"),
            format!("SELECT channel, n FROM archive_counts WHERE channel IN ({list})"),
        ] {
            let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
            for n in names {
                q = q.bind(n.as_str());
            }
            counts.push(q.fetch_all(&mut *conn).await?.into_iter().collect());
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let last_message_at = sqlx::query_scalar::<_, i64>("SELECT ts FROM archive WHERE channel = $1 ORDER BY seq DESC LIMIT 1").bind(name).fetch_optional(&mut *conn).await?;
            let n = |i: usize| counts[i].get(name).copied().unwrap_or(0);
            out.push(ChannelFigures { participants: n(0), online: n(1) + n(2), messages: n(3), last_message_at });
        }
        Ok(out)
    }

    /// The figures of the whole service.
    pub async fn service_figures(&self) -> Result<ServiceFigures> {
        let mut conn = self.conn().await?;
        let mut figures = [0i64; 6];
        for (i, sql) in [
            "SELECT COUNT(*) FROM channels",
            "SELECT COUNT(*) FROM participants",
            "SELECT COUNT(*) FROM occupants",
            "SELECT COUNT(*) FROM mix_presence",
            // SUM of a BIGINT is a NUMERIC on PostgreSQL: cast back.
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM archive_counts",
            "SELECT COUNT(*) FROM service_bans",
        ]
        .into_iter()
        .enumerate()
        {
            figures[i] = sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *conn).await?;
        }
        let [channels, participants, occupants, mix_clients, messages, bans] = figures;
        Ok(ServiceFigures { channels, participants, occupants, mix_clients, messages, bans })
    }

    /// Deletes every archived message of a channel; returns how many.
    pub async fn clear_archive(&self, name: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM archive WHERE channel = $1").bind(name).execute(&mut *self.conn().await?).await?.rows_affected())
    }
}

impl Store {
    /// Takes `jid` (a bare JID) out of channel `name` altogether: its
    /// participant row and its MUC sessions, in one transaction (the host's
    /// `mixmuc admin ban` while the service is stopped: nobody is told).
    pub async fn evict(&self, name: &str, jid: &str) -> Result<()> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("DELETE FROM occupants WHERE channel = $1 AND jid = $2").bind(name).bind(jid).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM participants WHERE channel = $1 AND jid = $2").bind(name).bind(jid).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
