//! The archive: one row per message, whichever view it came from. The
//! archive id is the MIX message id and the `stanza-id` in both views.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{AnyQuery, Store};
use crate::error::Result;

/// A message as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRow {
    pub seq: i64,
    pub channel: String,
    pub id: String,
    pub ts: i64,
    pub sender_jid: String,
    pub participant_id: String,
    pub nick: String,
    pub submission_id: Option<String>,
    /// `<message xmlns='jabber:client'>` with the message's children.
    pub payload: String,
    /// The sender's real JID was visible when the message was archived.
    pub jid_visible: bool,
    /// A retraction: the archive id of the message it takes back.
    pub retracts: Option<String>,
    /// A retraction (or a tombstone) by a moderator, not the sender.
    pub moderated: bool,
    /// The moderator's reason.
    pub reason: Option<String>,
    /// The message was taken back: its tombstone.
    pub tombstone: Option<Tombstone>,
}

/// What is left of a retracted message: when, by which retraction, and
/// (when moderated) by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub at: i64,
    /// The archive id of the retraction.
    pub retraction_id: String,
    /// The retracting participant's nick and participant id ('' when it
    /// has none: a service administrator who is not a participant).
    pub by_nick: String,
    pub by_pid: String,
}

/// The payload of a retraction and of a tombstone: no content.
pub const EMPTY_PAYLOAD: &str = "<message xmlns='jabber:client' type='groupchat'/>";

/// A retraction to archive (`Store::retract_message`): its own row, and
/// what it says of the message it takes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRetraction {
    /// The retraction's row (`EMPTY_PAYLOAD`).
    pub row: NewMessage,
    /// The archive id of the message taken back.
    pub target: String,
    pub reason: Option<String>,
}

impl<'r> FromRow<'r, AnyRow> for ArchiveRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(ArchiveRow {
            seq: r.try_get("seq")?,
            channel: r.try_get("channel")?,
            id: r.try_get("id")?,
            ts: r.try_get("ts")?,
            sender_jid: r.try_get("sender_jid")?,
            participant_id: r.try_get("participant_id")?,
            nick: r.try_get("nick")?,
            submission_id: r.try_get("submission_id")?,
            payload: r.try_get("payload")?,
            jid_visible: r.try_get::<i64, _>("jid_visible")? != 0,
            retracts: r.try_get("retracts")?,
            moderated: r.try_get::<i64, _>("moderated")? != 0,
            reason: r.try_get("reason")?,
            tombstone: match r.try_get::<Option<i64>, _>("retracted_at")? {
                Some(at) => Some(Tombstone {
                    at,
                    retraction_id: r.try_get::<Option<String>, _>("retraction_id")?.unwrap_or_default(),
                    by_nick: r.try_get::<Option<String>, _>("retracted_by_nick")?.unwrap_or_default(),
                    by_pid: r.try_get::<Option<String>, _>("retracted_by_pid")?.unwrap_or_default(),
                }),
                None => None,
            },
        })
    }
}

/// A filter on one channel's archive (XEP-0313 fields, XEP-0059 paging).
#[derive(Debug, Clone, Default)]
pub struct ArchiveQuery {
    pub channel: String,
    /// Milliseconds, inclusive.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub sender_jid: Option<String>,
    pub participant_id: Option<String>,
    pub nick: Option<String>,
    /// Exclusive bounds on `seq`.
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    /// Only these archive ids.
    pub ids: Vec<String>,
    /// Only messages whose sender's real JID was shown when archived.
    pub jid_visible_only: bool,
}

enum Bind {
    I(i64),
    S(String),
}

impl ArchiveQuery {
    /// Whether the query is the whole channel (no filter, no bound).
    fn whole_channel(&self) -> bool {
        let ArchiveQuery { channel: _, start, end, sender_jid, participant_id, nick, after_seq, before_seq, ids, jid_visible_only } = self;
        start.is_none() && end.is_none() && sender_jid.is_none() && participant_id.is_none() && nick.is_none() && after_seq.is_none() && before_seq.is_none() && ids.is_empty() && !jid_visible_only
    }

    /// `WHERE …` with its bind values, numbered from $1.
    fn filter(&self) -> (String, Vec<Bind>) {
        let mut sql = String::from("channel = $1");
        let mut binds = vec![Bind::S(self.channel.clone())];
        let mut add = |cond: &str, b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        };
        if let Some(v) = self.start {
            add("ts >=", Bind::I(v), &mut binds);
        }
        if let Some(v) = self.end {
            add("ts <=", Bind::I(v), &mut binds);
        }
        if let Some(v) = &self.sender_jid {
            add("sender_jid =", Bind::S(v.clone()), &mut binds);
        }
        if let Some(v) = &self.participant_id {
            add("participant_id =", Bind::S(v.clone()), &mut binds);
        }
        if let Some(v) = &self.nick {
            add("nick =", Bind::S(v.clone()), &mut binds);
        }
        if let Some(v) = self.after_seq {
            add("seq >", Bind::I(v), &mut binds);
        }
        if let Some(v) = self.before_seq {
            add("seq <", Bind::I(v), &mut binds);
        }
        if self.jid_visible_only {
            sql.push_str(" AND jid_visible = 1");
        }
        if !self.ids.is_empty() {
            let start = binds.len() + 1;
            let list: Vec<String> = (0..self.ids.len()).map(|i| format!("${}", start + i)).collect();
            sql.push_str(&format!(" AND id IN ({})", list.join(", ")));
            binds.extend(self.ids.iter().cloned().map(Bind::S));
        }
        (sql, binds)
    }
}

fn bind_all<'q>(mut q: AnyQuery<'q>, binds: Vec<Bind>) -> AnyQuery<'q> {
    for b in binds {
        q = match b {
            Bind::I(i) => q.bind(i),
            Bind::S(s) => q.bind(s),
        };
    }
    q
}

/// A message to archive (`Store::append_messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub channel: String,
    pub id: String,
    pub ts: i64,
    pub sender_jid: String,
    pub participant_id: String,
    pub nick: String,
    pub submission_id: Option<String>,
    pub payload: String,
    /// The sender's real JID is visible in the channel now (XEP-0404):
    /// kept with the message, for MAM to show it as it was shown.
    pub jid_visible: bool,
}

const COLUMNS: &str = "seq, channel, id, ts, sender_jid, participant_id, nick, submission_id, payload, jid_visible, \
                       retracts, moderated, reason, retracted_at, retraction_id, retracted_by_nick, retracted_by_pid";
/// The columns an append writes (both appenders).
pub(super) const INSERT_COLUMNS: &str = "channel, id, ts, sender_jid, participant_id, nick, submission_id, payload, jid_visible";

/// `(?, …), (?, …)` for `n` rows of 9 values. SQLite: anonymous `?`
/// parameters; numbered ones (`$N`) make SQLite keep a list of their names
/// that both preparing and sqlx's binding search linearly, per parameter
/// (with 1,024 parameters that was 15 % of mixmuc's CPU at saturation).
/// PostgreSQL: `$N`.
pub(super) fn values_list(backend: super::Backend, n: usize) -> String {
    let row = |r: usize| match backend {
        super::Backend::Sqlite => "(?, ?, ?, ?, ?, ?, ?, ?, ?)".to_string(),
        super::Backend::Postgres => format!("({})", (1..=9).map(|c| format!("${}", r * 9 + c)).collect::<Vec<_>>().join(", ")),
    };
    (0..n).map(row).collect::<Vec<_>>().join(", ")
}

/// Binds the 9 values of each row, in order. The rows are moved in: sqlx
/// keeps a bound string as its own copy (an `Arc<String>`), and a borrowed
/// one is copied first.
pub(super) fn bind_rows<'q>(q: AnyQuery<'q>, rows: Vec<NewMessage>) -> AnyQuery<'q> {
    rows.into_iter().fold(q, bind_row)
}

/// Binds one row's 9 values (`INSERT_COLUMNS`), in order.
pub(super) fn bind_row(q: AnyQuery<'_>, m: NewMessage) -> AnyQuery<'_> {
    q.bind(m.channel)
        .bind(m.id)
        .bind(m.ts)
        .bind(m.sender_jid)
        .bind(m.participant_id)
        .bind(m.nick)
        .bind(m.submission_id)
        .bind(m.payload)
        .bind(m.jid_visible as i64)
}

impl Store {
    /// Archives a message; committed when this returns.
    #[allow(clippy::too_many_arguments)]
    pub async fn append_message(
        &self,
        channel: &str,
        id: &str,
        ts: i64,
        sender_jid: &str,
        participant_id: &str,
        nick: &str,
        submission_id: Option<&str>,
        jid_visible: bool,
        payload: &str,
    ) -> Result<()> {
        self.append_messages(vec![NewMessage {
            channel: channel.into(),
            id: id.into(),
            ts,
            sender_jid: sender_jid.into(),
            participant_id: participant_id.into(),
            nick: nick.into(),
            submission_id: submission_id.map(Into::into),
            payload: payload.into(),
            jid_visible,
        }])
        .await
    }

    /// Archives messages, all or none, in the order given (their `seq`
    /// order). Committed when this returns. A SQLite file: one transaction
    /// on the direct connection (`direct.rs`). Otherwise one statement on
    /// the appender's connection: a multi-row INSERT is atomic by itself,
    /// no BEGIN/COMMIT.
    ///
    /// No `RETURNING`: SQLite runs a WAL checkpoint only when a statement
    /// steps to its end, and sqlx's fetch_one resets a RETURNING insert
    /// after its row instead: the write-ahead log then grows without end.
    #[tracing::instrument(skip_all, fields(n = rows.len()), level = "debug")]
    pub async fn append_messages(&self, rows: Vec<NewMessage>) -> Result<()> {
        let appender = match &self.appends {
            _ if rows.is_empty() => return Ok(()),
            super::Appends::Direct(direct) => return direct.append(&rows).await,
            super::Appends::Sqlx(appender) => appender,
        };
        // A statement per batch size: only the one-row statement (a message
        // alone in its turn) is kept in the connection's statement cache.
        let one = rows.len() == 1;
        let sql = format!("INSERT INTO archive ({INSERT_COLUMNS}) VALUES {}", values_list(self.backend(), rows.len()));
        let q = bind_rows(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(one), rows);
        appender.execute(q).await?;
        Ok(())
    }

    /// Archives a retraction and makes the message it takes back a
    /// tombstone, in one transaction. `Ok(None)` (and nothing written)
    /// when the channel has no such message, or it is a retraction itself,
    /// or it was already taken back. Otherwise `check` is called, inside the
    /// transaction, with the message as it was (its sender, its time): it
    /// refuses, or says whether this is a moderator's removal; returns the
    /// retraction's row as archived.
    pub async fn retract_message(&self, r: NewRetraction, check: impl FnOnce(&ArchiveRow) -> Result<bool>) -> Result<Option<ArchiveRow>> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let sql = format!("SELECT {COLUMNS} FROM archive WHERE channel = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&r.row.channel).bind(&r.target).fetch_optional(&mut *tx).await?;
        let Some(row) = row.as_ref().map(ArchiveRow::from_row).transpose()? else { return Ok(None) };
        if row.retracts.is_some() || row.tombstone.is_some() {
            return Ok(None);
        }
        let moderated = check(&row)?;
        sqlx::query(
            "UPDATE archive SET payload = $1, retracted_at = $2, retraction_id = $3, moderated = $4, reason = $5, \
             retracted_by_nick = $6, retracted_by_pid = $7 WHERE channel = $8 AND id = $9",
        )
        .bind(EMPTY_PAYLOAD)
        .bind(r.row.ts)
        .bind(&r.row.id)
        .bind(moderated as i64)
        .bind(&r.reason)
        .bind(&r.row.nick)
        .bind(&r.row.participant_id)
        .bind(&r.row.channel)
        .bind(&r.target)
        .execute(&mut *tx)
        .await?;
        let m = r.row;
        let archived = ArchiveRow {
            seq: 0,
            channel: m.channel.clone(),
            id: m.id.clone(),
            ts: m.ts,
            sender_jid: m.sender_jid.clone(),
            participant_id: m.participant_id.clone(),
            nick: m.nick.clone(),
            submission_id: m.submission_id.clone(),
            payload: m.payload.clone(),
            jid_visible: m.jid_visible,
            retracts: Some(r.target.clone()),
            moderated,
            reason: r.reason.clone(),
            tombstone: None,
        };
        let insert = format!("INSERT INTO archive ({INSERT_COLUMNS}, retracts, moderated, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
        bind_row(sqlx::query(sqlx::AssertSqlSafe(insert)), m).bind(r.target).bind(moderated as i64).bind(r.reason).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(archived))
    }

    /// The sequence number of an archive id in a channel.
    pub async fn archive_seq(&self, channel: &str, id: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT seq FROM archive WHERE channel = $1 AND id = $2")
            .bind(channel)
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Up to `limit` matching messages: the oldest first when `from_end` is
    /// false, else the newest (still returned oldest first).
    pub async fn query_archive(&self, q: &ArchiveQuery, limit: i64, from_end: bool) -> Result<Vec<ArchiveRow>> {
        let (filter, mut binds) = q.filter();
        binds.push(Bind::I(limit));
        let order = if from_end { "DESC" } else { "ASC" };
        let sql = format!("SELECT {COLUMNS} FROM archive WHERE {filter} ORDER BY seq {order} LIMIT ${}", binds.len());
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(&mut *self.conn().await?).await?;
        let mut out = rows.iter().map(ArchiveRow::from_row).collect::<sqlx::Result<Vec<_>>>()?;
        if from_end {
            out.reverse();
        }
        Ok(out)
    }

    /// How many messages match (paging bounds included). The whole channel's
    /// count is kept by triggers in `archive_counts` (migration 0006): one row
    /// read instead of counting the archive.
    pub async fn count_archive(&self, q: &ArchiveQuery) -> Result<i64> {
        if q.whole_channel() {
            let n = sqlx::query_scalar::<_, i64>("SELECT n FROM archive_counts WHERE channel = $1").bind(&q.channel).fetch_optional(&mut *self.conn().await?).await?;
            return Ok(n.unwrap_or(0));
        }
        let (filter, binds) = q.filter();
        let sql = format!("SELECT COUNT(*) AS n FROM archive WHERE {filter}");
        let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_one(&mut *self.conn().await?).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
}
