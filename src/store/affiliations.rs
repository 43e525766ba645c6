//! Administration: affiliations (owner, admin, member, outcast), roles set
//! by moderators, and removals (kick, ban), written in one transaction so a
//! muc#admin request with several items is applied entirely or not at all.

use super::Store;
use crate::error::Result;

/// One batch of administrative changes to a channel.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AdminChanges {
    /// (bare JID or domain, new affiliation; None = none). A changed
    /// affiliation resets the participant's role to its default.
    pub affiliations: Vec<(String, Option<String>)>,
    /// (participant's bare JID, new role; None = the affiliation's default).
    pub roles: Vec<(String, Option<String>)>,
    /// Users removed from the channel: their participant row and every MUC
    /// session go.
    pub removals: Vec<String>,
}

impl Store {
    /// Applies a batch of administrative changes atomically.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn apply_admin_changes(&self, channel: &str, changes: &AdminChanges) -> Result<()> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for (jid, affiliation) in &changes.affiliations {
            match affiliation {
                Some(a) => {
                    sqlx::query(
                        "INSERT INTO affiliations (channel, jid, affiliation) VALUES ($1, $2, $3)
                         ON CONFLICT (channel, jid) DO UPDATE SET affiliation = excluded.affiliation",
                    )
                    .bind(channel)
                    .bind(jid)
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM affiliations WHERE channel = $1 AND jid = $2").bind(channel).bind(jid).execute(&mut *tx).await?;
                }
            }
            sqlx::query("UPDATE participants SET role = NULL WHERE channel = $1 AND jid = $2").bind(channel).bind(jid).execute(&mut *tx).await?;
        }
        for (jid, role) in &changes.roles {
            sqlx::query("UPDATE participants SET role = $1 WHERE channel = $2 AND jid = $3")
                .bind(role.as_deref())
                .bind(channel)
                .bind(jid)
                .execute(&mut *tx)
                .await?;
        }
        for jid in &changes.removals {
            for table in ["occupants", "participants"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE channel = $1 AND jid = $2")))
                    .bind(channel)
                    .bind(jid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
