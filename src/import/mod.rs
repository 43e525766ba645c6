//! `mixmuc import`: takes over the rooms of another MUC service (issue 23;
//! docs/deploy/migrate.md). This slice reads Prosody 0.12's MUC component
//! data, from its SQL storage on SQLite (`prosody_sql.rs`) or its internal
//! file storage (`prosody_files.rs`, with the Lua data reader `lua.rs`),
//! maps each room to the channel of the same localpart (`room.rs`) and each
//! archived message to an archive row with the same archive id
//! (`message.rs`), and writes them through `store/import.rs`.
//!
//! Safe on live data: each room is read and checked whole (its archive
//! too, streamed) before anything of it is written; a room with a problem
//! is skipped with a line naming it and the rest goes on; the archive goes
//! in batches keyed by archive id (a re-run adds only what is new), then
//! the room's settings, affiliations and nicks in one transaction. A room
//! that mixmuc has with other settings is left as it is unless
//! `overwrite`.

pub mod lua;
pub mod message;
pub mod prosody_files;
pub mod prosody_sql;
pub mod room;

use std::collections::VecDeque;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use xmpp_parsers::jid::BareJid;

use crate::store::{RoomImport, Store};
use message::{Context, SourceMessage};
use prosody_files::{ArchiveFile, ProsodyFiles};
use prosody_sql::ProsodySql;
use room::Room;

/// Where the old service's data is.
#[derive(Debug, Clone)]
pub enum Source {
    /// Prosody's SQL storage, a SQLite database file.
    ProsodySql(PathBuf),
    /// Prosody's internal storage: its data folder.
    ProsodyFiles(PathBuf),
}

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: Source,
    /// The MUC domain whose rooms are read.
    pub host: String,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// Replace rooms that mixmuc has with other settings.
    pub overwrite: bool,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rooms written (new, or replaced with `overwrite`); in a dry run,
    /// to write (and so on below).
    pub rooms_written: u64,
    /// Rooms that mixmuc has already as they are (their archive's new
    /// messages are still added).
    pub rooms_unchanged: u64,
    /// Rooms left out for a problem.
    pub rooms_skipped: u64,
    /// Temporary (not persistent) rooms, left out as Prosody would drop them.
    pub rooms_temporary: u64,
    /// Destroyed rooms (Prosody's tombstones), left out.
    pub rooms_destroyed: u64,
    /// Affiliations and registered nicks of the rooms written.
    pub affiliations: u64,
    pub nicks: u64,
    /// Archived messages added, and those mixmuc had already.
    pub messages_added: u64,
    pub messages_present: u64,
    /// Archive items that are not room messages (logged presences).
    pub items_left_out: u64,
}

impl Summary {
    /// The summary line; `dry`: of a dry run (what would be written).
    pub fn line(&self, dry: bool) -> String {
        let (written, added) = if dry { ("to write", "to add") } else { ("written", "added") };
        format!(
            "{}rooms: {} {written}, {} unchanged, {} skipped, {} temporary and {} destroyed left out; members: {} affiliations, {} registered nicks; \
             messages: {} {added}, {} already there, {} other items left out",
            if dry { "dry run, nothing written: " } else { "" },
            self.rooms_written,
            self.rooms_unchanged,
            self.rooms_skipped,
            self.rooms_temporary,
            self.rooms_destroyed,
            self.affiliations,
            self.nicks,
            self.messages_added,
            self.messages_present,
            self.items_left_out
        )
    }
}

/// Rows per archive batch (one statement each) and per id check.
const BATCH: usize = 500;
const _: () = assert!(BATCH <= crate::store::IMPORT_BATCH);
/// Archives at least this long get a progress bar (on a terminal).
const PROGRESS_FROM: u64 = 1000;

/// The old service's data, opened.
enum Old {
    Sql(ProsodySql),
    Files(ProsodyFiles),
}

impl Old {
    async fn open(o: &Options) -> Result<Old, String> {
        Ok(match &o.source {
            Source::ProsodySql(p) => Old::Sql(ProsodySql::open(p, &o.host).await?),
            Source::ProsodyFiles(p) => Old::Files(ProsodyFiles::open(p, &o.host)?),
        })
    }

    /// The rooms, and what looked like a room but was not (problems).
    async fn rooms(&mut self) -> Result<(Vec<String>, Vec<String>), String> {
        match self {
            Old::Sql(db) => Ok((db.rooms().await?, vec![])),
            Old::Files(f) => f.rooms(),
        }
    }

    async fn room(&mut self, name: &str) -> Result<room::Room, String> {
        let table = match self {
            Old::Sql(db) => db.room(name).await?,
            Old::Files(f) => f.room(name)?,
        };
        Room::from_frozen(name, self.host(), &table)
    }

    fn host(&self) -> &str {
        match self {
            Old::Sql(db) => db.host(),
            Old::Files(f) => f.host(),
        }
    }

    fn archive(&mut self, name: &str) -> Result<Archive<'_>, String> {
        Ok(match self {
            Old::Sql(db) => Archive::Sql { db, name: name.to_string(), after: 0, page: VecDeque::new(), done: false },
            Old::Files(f) => Archive::File(f.archive(name)?),
        })
    }
}

/// A room's archive being read, in the old service's order.
enum Archive<'a> {
    Sql { db: &'a mut ProsodySql, name: String, after: i64, page: VecDeque<SourceMessage>, done: bool },
    File(ArchiveFile),
}

impl Archive<'_> {
    async fn next(&mut self) -> Result<Option<SourceMessage>, String> {
        match self {
            Archive::File(f) => f.next_message(),
            Archive::Sql { db, name, after, page, done } => {
                if page.is_empty() && !*done {
                    let (items, last) = db.archive_page(name, *after, BATCH as i64).await?;
                    *done = items.len() < BATCH;
                    *after = last;
                    page.extend(items);
                }
                Ok(page.pop_front())
            }
        }
    }
}

/// Runs the import; every room's line and every problem is printed as it
/// comes. An `Err` is a failure before any room (the source or the store
/// cannot be read).
pub async fn run(store: &Store, muc_domain: &str, o: &Options) -> Result<Summary, String> {
    let mut old = Old::open(o).await?;
    let salt = store.setting("participant_id_salt").await.map_err(|e| e.to_string())?.ok_or("the store has no participant id salt (not migrated?)")?;
    if !o.host.eq_ignore_ascii_case(muc_domain) {
        println!("note: importing rooms of {} into the store of a mixmuc whose MUC domain is {muc_domain}: they will be served as <room>@{muc_domain}", o.host);
    }
    let (rooms, strays) = old.rooms().await?;
    println!("{} room(s) of {} found{}", rooms.len(), o.host, if o.dry_run { " (dry run: nothing is written)" } else { "" });
    let mut summary = Summary::default();
    for stray in strays {
        summary.rooms_skipped += 1;
        eprintln!("skipped {stray}");
    }
    for name in rooms {
        if let Err(problem) = import_room(store, &mut old, &name, o, &salt, &mut summary).await {
            summary.rooms_skipped += 1;
            eprintln!("skipped room {name}: {problem}");
        }
    }
    println!("summary: {}", summary.line(o.dry_run));
    Ok(summary)
}

/// What a room is to the store.
enum State {
    New,
    Unchanged,
    Replaced(Vec<String>),
}

/// One room, checked whole, then written (unless dry).
async fn import_room(store: &Store, old: &mut Old, name: &str, o: &Options, salt: &str, summary: &mut Summary) -> Result<(), String> {
    let room = old.room(name).await?;
    if room.destroyed {
        summary.rooms_destroyed += 1;
        if store.room_for_import(name).await.map_err(|e| format!("reading mixmuc's store: {e}"))?.is_some() {
            println!("room {name}: destroyed in Prosody (a tombstone), left out; mixmuc has it from an earlier import and keeps it: destroy it there if it should go");
        } else {
            println!("room {name}: destroyed in Prosody (a tombstone), left out");
        }
        return Ok(());
    }
    if !room.persistent {
        summary.rooms_temporary += 1;
        println!("room {name}: temporary (not persistent), left out");
        return Ok(());
    }
    let existing = store.room_for_import(name).await.map_err(|e| format!("reading mixmuc's store: {e}"))?;
    let (plan, notes) = room.to_store(existing.as_ref().map(|e| &e.channel), crate::store::now_ms())?;
    let state = match &existing {
        None => State::New,
        Some(e) => {
            let diffs = room::differences(e, &plan);
            if diffs.is_empty() {
                State::Unchanged
            } else if o.overwrite {
                State::Replaced(diffs)
            } else {
                return Err(format!("mixmuc has this room with other content ({}); left as it is (--overwrite replaces it)", diffs.join("; ")));
            }
        }
    };
    let room_jid: BareJid = format!("{name}@{}", o.host).parse().map_err(|e| format!("room JID: {e}"))?;
    let cx = Context { channel: &plan.channel.name, room_jid: &room_jid, salt };

    // First pass: every item read and converted, every id checked.
    let (mut total, mut present, mut left_out) = (0u64, 0u64, 0u64);
    let mut ids = Vec::with_capacity(BATCH);
    let mut archive = old.archive(name)?;
    loop {
        let item = archive.next().await?;
        let done = item.is_none();
        if let Some(m) = item {
            match message::convert(&cx, &m)? {
                Some(row) => {
                    total += 1;
                    ids.push(row.id);
                }
                None => left_out += 1,
            }
        }
        if ids.len() >= BATCH || (done && !ids.is_empty()) {
            for (id, channel) in store.archive_ids_present(&ids).await.map_err(|e| format!("reading mixmuc's archive: {e}"))? {
                if channel != plan.channel.name {
                    return Err(format!("archived message {id}: mixmuc's archive has this id already, in channel {channel}"));
                }
                present += 1;
            }
            ids.clear();
        }
        if done {
            break;
        }
    }
    drop(archive);

    let what = match &state {
        State::New => "new".to_string(),
        State::Unchanged => "unchanged".to_string(),
        State::Replaced(d) => format!("replaced ({})", d.join("; ")),
    };
    println!(
        "room {name}: {what}, {} affiliation(s), {} registered nick(s), {} message(s) ({} new){}",
        plan.affiliations.len(),
        plan.nicks.len(),
        total,
        total - present,
        if left_out > 0 { format!(", {left_out} other item(s) left out") } else { String::new() }
    );
    for n in &notes {
        println!("  room {name}: {n}");
    }
    summary.items_left_out += left_out;
    if o.dry_run {
        count(summary, &state, &plan, total - present, present);
        return Ok(());
    }

    // Second pass: the archive in batches, then the room.
    let bar = if total >= PROGRESS_FROM {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} messages ({eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_message(format!("room {name}"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let (mut added, mut seen) = (0u64, 0u64);
    let mut rows = Vec::with_capacity(BATCH);
    let mut archive = old.archive(name)?;
    let unfinished = |e: String| format!("{e} (the messages before it are imported; run again to finish this room)");
    loop {
        let item = archive.next().await.map_err(unfinished)?;
        let done = item.is_none();
        if let Some(m) = item {
            if let Some(row) = message::convert(&cx, &m).map_err(unfinished)? {
                rows.push(row);
            }
        }
        if rows.len() >= BATCH || (done && !rows.is_empty()) {
            let n = rows.len() as u64;
            added += store.import_archive(std::mem::take(&mut rows)).await.map_err(|e| unfinished(format!("writing the archive: {e}")))?;
            seen += n;
            bar.set_position(seen);
        }
        if done {
            break;
        }
    }
    bar.finish_and_clear();
    if !matches!(state, State::Unchanged) {
        store.write_imported_room(&plan).await.map_err(|e| format!("writing the room (its archive is imported; run again): {e}"))?;
    }
    count(summary, &state, &plan, added, seen - added);
    Ok(())
}

fn count(summary: &mut Summary, state: &State, plan: &RoomImport, added: u64, present: u64) {
    match state {
        State::Unchanged => summary.rooms_unchanged += 1,
        State::New | State::Replaced(_) => {
            summary.rooms_written += 1;
            summary.affiliations += plan.affiliations.len() as u64;
            summary.nicks += plan.nicks.len() as u64;
        }
    }
    summary.messages_added += added;
    summary.messages_present += present;
}
