//! The archive's cost per message, alone: rows appended through the store's
//! own append path (`Store::append_messages`: on a SQLite file, the direct
//! appender of `store/direct.rs` and its checkpoint thread), spread over many
//! channels as in S5's small rooms, in batches of the sizes given.
//!
//!   mixmuc-bench-append --channels 1000 --rows 120000 --batch 1,6,32,128 --out append.json
//!
//! For each batch size, a fresh database in a temporary folder (or `--dir`):
//! the channels are created, then `--rows` rows appended, row `j` to channel
//! `(j * 7919) mod channels` (consecutive rows in different channels, as
//! when many small rooms talk at once). Reports the CPU time of this process
//! per row (every thread: the appender runs on the caller's thread, the
//! checkpoints on their own), wall time per row and rows per second, then
//! checks that every row was archived. A bound for S5: whatever else a
//! message costs, a core cannot archive more rows per second than
//! 1 / (CPU per row). Not a test: no time is asserted.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use mixmuc::config::StoreConfig;
use mixmuc::store::{ArchiveQuery, NewMessage, Store};

#[derive(Parser)]
#[command(name = "mixmuc-bench-append", about = "The archive's cost per appended row (SQLite), by batch size")]
struct Cli {
    /// Channels the rows are spread over.
    #[arg(long, default_value_t = 1000)]
    channels: usize,
    /// Rows appended per batch size.
    #[arg(long, default_value_t = 120_000)]
    rows: usize,
    /// Batch sizes (rows per transaction), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,6,32,128")]
    batch: Vec<usize>,
    /// Rounds: each batch size is measured this many times, sizes alternating.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Folder for the databases (a temporary one if not given); each is
    /// deleted after its measure.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// JSON report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The load generator's reader of /proc (its memory reader is not used here).
#[path = "mixmuc-bench/procstat.rs"]
#[allow(dead_code)]
mod procstat;

/// CPU seconds of this process (user + system, all threads).
fn cpu_secs() -> Result<f64, Box<dyn std::error::Error>> {
    procstat::cpu_seconds("self").ok_or_else(|| "cannot read this process's CPU time from /proc/self/stat".into())
}

/// An archive id of the product's shape (20 letters of lower-case base32,
/// the first 9 the time in milliseconds in byte order, then 11 random ones),
/// so that appends touch the unique index as the product's own ids do:
/// close in time, close in the index.
fn archive_id() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    id_at(ms, rand::random())
}

fn id_at(ms: u64, random: u64) -> String {
    // Base32 letters in byte order.
    const SORTED: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";
    let time = (0..9).rev().map(|i| (ms >> (5 * i)) & 31);
    let tail = (0..11).map(|i| (random >> (5 * i)) & 31);
    time.chain(tail).map(|v| SORTED[v as usize] as char).collect()
}

fn row(j: usize, channels: usize, payload: &str) -> NewMessage {
    NewMessage {
        channel: format!("room{}", (j * 7919) % channels),
        id: archive_id(),
        ts: j as i64,
        sender_jid: "user@bench.local".into(),
        participant_id: "abcdefghij".into(),
        nick: "user".into(),
        submission_id: None,
        payload: payload.to_owned(),
        jid_visible: true,
    }
}

/// (CPU µs per row, wall µs per row) for one batch size on a new database.
async fn measure(cli: &Cli, dir: &std::path::Path, batch: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let db = dir.join(format!("append-{batch}.db"));
    let cfg = StoreConfig { url: format!("sqlite://{}", db.display()), ..StoreConfig::default() };
    let store = Store::open(&cfg).await?;
    for c in 0..cli.channels {
        store.create_channel(&format!("room{c}"), "owner@bench.local", false, mixmuc::store::JidVisibility::Visible, 1).await?;
    }
    // The shape of an archived S5 message (a body with the benchmark's token).
    let payload = "<message xmlns='jabber:client'><body>mmb ab12 1 7 99 1732222222123456789</body></message>";
    // The rows are made before the measure: it times the appends only.
    let rows: Vec<NewMessage> = (0..cli.rows).map(|j| row(j, cli.channels, payload)).collect();
    let mut batches = Vec::with_capacity(cli.rows.div_ceil(batch));
    let mut rows = rows.into_iter();
    loop {
        let b: Vec<NewMessage> = rows.by_ref().take(batch).collect();
        if b.is_empty() {
            break;
        }
        batches.push(b);
    }
    let (cpu0, t0) = (cpu_secs()?, Instant::now());
    for b in batches {
        store.append_messages(b).await?;
    }
    let (cpu, wall) = (cpu_secs()? - cpu0, t0.elapsed().as_secs_f64());
    // Every row is there, in its channel (outside the measure).
    let mut archived = 0;
    for c in 0..cli.channels {
        archived += store.count_archive(&ArchiveQuery { channel: format!("room{c}"), ..Default::default() }).await?;
    }
    store.close().await;
    if archived != cli.rows as i64 {
        return Err(format!("batch {batch}: {archived} rows archived of {}", cli.rows).into());
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok((cpu * 1e6 / cli.rows as f64, wall * 1e6 / cli.rows as f64))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if cli.channels == 0 || cli.rows == 0 || cli.batch.contains(&0) {
        return Err("--channels, --rows and every --batch must be at least 1".into());
    }
    let temp = std::env::temp_dir().join(format!("mixmuc-bench-append-{}", std::process::id()));
    let dir = cli.dir.clone().unwrap_or_else(|| temp.clone());
    std::fs::create_dir_all(&dir)?;
    let mut results = Vec::new();
    for round in 1..=cli.rounds {
        for &batch in &cli.batch {
            let (cpu_us, wall_us) = measure(&cli, &dir, batch).await?;
            eprintln!("round {round} batch {batch}: {cpu_us:.2} µs CPU per row, {wall_us:.2} µs wall per row, {:.0} rows/s", 1e6 / wall_us);
            results.push(format!("{{\"round\":{round},\"batch\":{batch},\"cpu_us_per_row\":{cpu_us:.3},\"wall_us_per_row\":{wall_us:.3},\"rows_per_s\":{:.0}}}", 1e6 / wall_us));
        }
    }
    if cli.dir.is_none() {
        let _ = std::fs::remove_dir(&temp);
    }
    let report = format!(
        "{{\"scenario\":\"S5-append\",\"tool\":\"mixmuc-bench-append\",\"store\":\"sqlite\",\"channels\":{},\"rows\":{},\"results\":[{}]}}\n",
        cli.channels,
        cli.rows,
        results.join(",")
    );
    match &cli.out {
        Some(path) => std::fs::write(path, report)?,
        None => print!("{report}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn archive_ids_have_the_products_shape_and_sort_by_time() {
        let times = [0u64, 1, 31, 32, 1_763_700_000_000, 1_763_700_000_001, (1 << 45) - 1];
        let ids: Vec<String> = times.iter().map(|t| super::id_at(*t, u64::MAX - t)).collect();
        for w in ids.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        let now = super::archive_id();
        assert!(now.len() == 20 && now.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)), "{now}");
        assert_ne!(now, super::archive_id());
    }
}
