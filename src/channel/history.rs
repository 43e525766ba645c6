//! Reading the archive: one paging engine for MAM on both views.

use super::Channels;
use crate::error::{Error, Result};
use crate::store::{ArchiveQuery, ArchiveRow};

/// Most results in one page, whatever the client asks.
pub const MAX_PAGE: usize = 250;
/// Page size when the client names none.
pub const DEFAULT_PAGE: usize = 50;
/// Most ids in one `ids` query (each is looked up).
pub const MAX_IDS: usize = MAX_PAGE;

/// A query on a channel's archive, as both views' MAM requests map to it
/// (XEP-0313 fields and XEP-0059 paging, translated by the front end).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Messages at or after / at or before these times (ms since 1970).
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Only the messages after / before the one with this id (these define
    /// the result set and its count).
    pub after_id: Option<String>,
    pub before_id: Option<String>,
    /// Only these messages.
    pub ids: Vec<String>,
    /// Whom the messages are from.
    pub with: Option<With>,
    /// Only messages whose sender's real JID was shown when they were
    /// archived (a real-JID filter asked by one who sees only those).
    pub jid_shown_only: bool,
    /// Page size asked for (at most `MAX_PAGE`).
    pub max: Option<usize>,
    /// Paging within the result set: the page after / before this id;
    /// `before = Some("")` asks for the last page.
    pub after: Option<String>,
    pub before: Option<String>,
    /// The page newest first.
    pub flip: bool,
}

/// Whom `with` names, as the view understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum With {
    Jid(String),
    ParticipantId(String),
    Nick(String),
}

/// One page of results, oldest first (unless flipped).
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<ArchiveRow>,
    pub complete: bool,
    pub count: i64,
}

impl Channels {
    /// One page of a channel's archive.
    pub async fn history(&self, name: &str, req: &HistoryQuery) -> Result<Page> {
        let mut q = ArchiveQuery { channel: name.to_string(), start: req.start, end: req.end, ids: req.ids.clone(), jid_visible_only: req.jid_shown_only, ..Default::default() };
        match req.with.clone() {
            Some(With::Jid(j)) => q.sender_jid = Some(j),
            Some(With::ParticipantId(p)) => q.participant_id = Some(p),
            Some(With::Nick(n)) => q.nick = Some(n),
            None => {}
        }
        if req.ids.len() > MAX_IDS {
            return Err(Error::policy_violation(format!("at most {MAX_IDS} ids in one query")));
        }
        for id in &req.ids {
            if self.store.archive_seq(name, id).await?.is_none() {
                return Err(Error::item_not_found().with_text(format!("no message with id {} in this archive", crate::error::quote(id))));
            }
        }
        // The form's after-id / before-id define the result set (and its
        // count); RSM after / before only page through it.
        self.bound(name, &mut q, &req.after_id, true).await?;
        self.bound(name, &mut q, &req.before_id, false).await?;
        let count = self.store.count_archive(&q).await?;
        self.bound(name, &mut q, &req.after, true).await?;
        self.bound(name, &mut q, &req.before, false).await?;
        let max = req.max.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let from_end = req.before.is_some();
        let mut rows = self.store.query_archive(&q, max as i64 + 1, from_end).await?;
        let more = rows.len() > max;
        if more {
            if from_end {
                rows.remove(0);
            } else {
                rows.pop();
            }
        }
        if req.flip {
            rows.reverse();
        }
        Ok(Page { rows, complete: !more, count })
    }

    /// The newest `max` messages `q` selects, oldest first (history on
    /// entering a room walks back through the archive with these).
    pub async fn newest(&self, q: &ArchiveQuery, max: i64) -> Result<Vec<ArchiveRow>> {
        self.store.query_archive(q, max, true).await
    }

    /// Narrows `q` to messages after (or before) the one with this id.
    async fn bound(&self, name: &str, q: &mut ArchiveQuery, id: &Option<String>, after: bool) -> Result<()> {
        let Some(id) = id.as_deref().filter(|i| !i.is_empty()) else { return Ok(()) };
        let seq = self.store.archive_seq(name, id).await?.ok_or_else(|| Error::item_not_found().with_text(format!("no message with id {} in this archive", crate::error::quote(id))))?;
        if after {
            q.after_seq = Some(q.after_seq.map_or(seq, |s| s.max(seq)));
        } else {
            q.before_seq = Some(q.before_seq.map_or(seq, |s| s.min(seq)));
        }
        Ok(())
    }
}
