//! `mixmuc-bench`: the load generator of the benchmarks (docs/bench-tool.md).
//!
//! c2s mode drives a real server through many client sessions (MUC and MIX
//! through XEP-0405), join-storm mode measures S3, component mode plays the
//! XMPP server to mixmuc itself (XEP-0114, server side). Each run prints one
//! JSON document.

mod c2s;
mod client_mode;
mod component;
mod frame;
mod json;
mod procstat;
mod stats;
mod steps;
mod storm;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use json::Json;
use stats::{Layout, Shared};
use steps::{Limits, StepPlan};

#[derive(Parser)]
#[command(name = "mixmuc-bench", version, about = "Load generator for mixmuc's benchmarks (see docs/bench-tool.md)")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Fan-out through a real server: c2s sessions in MUC rooms and MIX channels.
    C2s(C2sArgs),
    /// S3: N occupants enter one MUC room at once.
    JoinStorm(StormArgs),
    /// S5: play the XMPP server to mixmuc (XEP-0114) with synthetic users.
    Component(ComponentArgs),
}

#[derive(Args, Debug, Clone)]
struct ClientArgs {
    /// c2s address of the server.
    #[arg(long, default_value = "127.0.0.1:5222")]
    server: String,
    /// The users' domain.
    #[arg(long, default_value = "localhost")]
    domain: String,
    /// Explicit accounts (comma separated), one session each.
    #[arg(long, value_delimiter = ',')]
    users: Vec<String>,
    /// Otherwise accounts PREFIX1, PREFIX2, …
    #[arg(long, default_value = "bench")]
    user_prefix: String,
    /// Password of every account.
    #[arg(long, default_value = "pass")]
    password: String,
    /// Register the accounts in band first (XEP-0077); existing ones are fine.
    #[arg(long)]
    register: bool,
    /// The MUC service.
    #[arg(long, default_value = "conference.localhost")]
    muc_domain: String,
    /// Sessions connecting / joining at once.
    #[arg(long, default_value_t = 50)]
    connect_concurrency: usize,
}

impl ClientArgs {
    fn accounts(&self, n: usize) -> Vec<String> {
        if self.users.is_empty() {
            (1..=n).map(|i| format!("{}{i}", self.user_prefix)).collect()
        } else {
            self.users.clone()
        }
    }
    fn cfg(&self) -> c2s::ClientCfg {
        c2s::ClientCfg { server: self.server.clone(), domain: self.domain.clone(), password: self.password.clone(), register: self.register }
    }
}

#[derive(Args, Debug, Clone)]
struct ScenarioArgs {
    /// Number of rooms.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Members per room.
    #[arg(long, default_value_t = 10)]
    occupants: usize,
    /// Of the members of each room, how many join through MIX.
    #[arg(long, default_value_t = 0)]
    mix_per_room: usize,
    /// Room names: PREFIX-0, PREFIX-1, … (default bench-<run>).
    #[arg(long)]
    room_prefix: Option<String>,
    /// Sending members.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Offered messages per second, all senders together.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// A sweep: one measure step per rate.
    #[arg(long, value_delimiter = ',')]
    rates: Vec<f64>,
    /// End a sweep after the first saturated step.
    #[arg(long)]
    stop_at_saturation: bool,
    /// A step whose p99 latency exceeds this is saturated.
    #[arg(long, default_value_t = 1000.0)]
    saturation_p99_ms: f64,
    /// Seconds of sending per measure step.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of warm-up sending (0: none).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Max seconds to wait for stragglers after each step.
    #[arg(long, default_value_t = 5.0)]
    grace: f64,
}

#[derive(Args, Debug, Clone)]
struct CommonArgs {
    /// NAME=PID: report this process's CPU seconds and memory (repeatable).
    #[arg(long = "pid")]
    pids: Vec<String>,
    /// Tokio worker threads (1: current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct C2sArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The MIX service (when --mix-per-room > 0).
    #[arg(long, default_value = "mix.localhost")]
    mix_domain: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
struct StormArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Occupants entering (occupant 0 creates the room first).
    #[arg(long, default_value_t = 50)]
    occupants: usize,
    /// Room name (default storm-<run>).
    #[arg(long)]
    room: Option<String>,
    /// Seconds before the storm gives up.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
struct ComponentArgs {
    /// Where mixmuc's [server] host/port point.
    #[arg(long, default_value = "127.0.0.1:5347")]
    listen: String,
    #[arg(long, default_value = "mix.bench")]
    mix_domain: String,
    #[arg(long, default_value = "")]
    mix_secret: String,
    #[arg(long, default_value = "muc.bench")]
    muc_domain: String,
    #[arg(long, default_value = "")]
    muc_secret: String,
    /// Domain of the synthetic users u0, u1, …
    #[arg(long, default_value = "bench.local")]
    user_domain: String,
    /// Seconds to wait for mixmuc to connect both domains.
    #[arg(long, default_value_t = 60.0)]
    accept_timeout: f64,
    /// Joins at once.
    #[arg(long, default_value_t = 50)]
    connect_concurrency: usize,
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

fn watched(pids: &[String]) -> Result<Vec<(String, String)>, String> {
    pids.iter()
        .map(|p| match p.split_once('=') {
            Some((n, pid)) if !n.is_empty() && pid.parse::<u32>().is_ok() => Ok((n.to_string(), pid.to_string())),
            _ => Err(format!("--pid wants NAME=PID, got '{p}'")),
        })
        .collect()
}

fn plans(s: &ScenarioArgs) -> Result<Vec<StepPlan>, String> {
    let rates = if s.rates.is_empty() { vec![s.rate] } else { s.rates.clone() };
    if rates.iter().any(|r| !(*r > 0.0)) || !(s.duration > 0.0) {
        return Err("rates and --duration must be positive".into());
    }
    let mut plans = vec![];
    if s.warmup > 0.0 {
        plans.push(StepPlan { phase: "warmup", rate: rates[0], duration: s.warmup });
    }
    plans.extend(rates.iter().map(|&rate| StepPlan { phase: "measure", rate, duration: s.duration }));
    Ok(plans)
}

fn layout(s: &ScenarioArgs, run: &str) -> Result<Layout, String> {
    let l = Layout {
        rooms: s.rooms,
        occupants: s.occupants,
        mix_per_room: s.mix_per_room,
        senders: s.senders,
        room_prefix: s.room_prefix.clone().unwrap_or_else(|| format!("bench-{run}")),
    };
    l.validate()?;
    Ok(l)
}

fn scenario_json(s: &ScenarioArgs, l: &Layout) -> Json {
    Json::obj()
        .with("rooms", s.rooms)
        .with("occupants", s.occupants)
        .with("mix_per_room", s.mix_per_room)
        .with("room_prefix", l.room_prefix.as_str())
        .with("senders", s.senders)
        .with("rates", Json::Arr(if s.rates.is_empty() { vec![Json::Num(s.rate)] } else { s.rates.iter().map(|&r| Json::Num(r)).collect() }))
        .with("duration_s", s.duration)
        .with("warmup_s", s.warmup)
        .with("grace_s", s.grace)
        .with("saturation_p99_ms", s.saturation_p99_ms)
        .with("stop_at_saturation", s.stop_at_saturation)
}

fn limits(s: &ScenarioArgs) -> Limits {
    Limits { grace: s.grace, p99_ms: s.saturation_p99_ms, stop_at_saturation: s.stop_at_saturation }
}

/// Builds the runtime and runs one mode; Err(exit code, message).
fn execute(cli: Cli) -> Result<(Json, Option<std::path::PathBuf>), (u8, String)> {
    let run = run_id();
    let bad = |e: String| (2u8, e);
    let common = match &cli.mode {
        Mode::C2s(a) => a.common.clone(),
        Mode::JoinStorm(a) => a.common.clone(),
        Mode::Component(a) => a.common.clone(),
    };
    let watched = watched(&common.pids).map_err(bad)?;
    let rt = if common.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(common.threads).enable_all().build()
    }
    .map_err(|e| (1, format!("cannot start the runtime: {e}")))?;
    let started = Instant::now();
    let cpu0 = procstat::cpu_seconds("self");
    let mut doc = Json::obj().with("tool", "mixmuc-bench").with("version", env!("CARGO_PKG_VERSION")).with("run", run.as_str());
    match cli.mode {
        Mode::C2s(a) => {
            let layout = layout(&a.scenario, &run).map_err(bad)?;
            let plans = plans(&a.scenario).map_err(bad)?;
            doc.set("mode", "c2s");
            doc.set(
                "scenario",
                scenario_json(&a.scenario, &layout)
                    .with("server", a.client.server.as_str())
                    .with("muc_domain", a.client.muc_domain.as_str())
                    .with("mix_domain", a.mix_domain.as_str())
                    .with("register", a.client.register),
            );
            let shared = Arc::new(Shared::new(run.clone(), layout.clone()));
            let params = client_mode::Params {
                client: a.client.cfg(),
                accounts: a.client.accounts(layout.sessions()),
                muc_domain: a.client.muc_domain.clone(),
                mix_domain: a.mix_domain.clone(),
                layout,
                plans,
                limits: limits(&a.scenario),
                watched,
                concurrency: a.client.connect_concurrency,
            };
            let (setup, reports) = rt.block_on(client_mode::run(params, shared)).map_err(|e| (1, e))?;
            doc.set("setup", setup);
            doc.set("summary", steps::summary(&reports, !a.scenario.rates.is_empty()));
            doc.set("steps", Json::Arr(reports));
        }
        Mode::JoinStorm(a) => {
            doc.set("mode", "join-storm");
            let room = a.room.clone().unwrap_or_else(|| format!("storm-{run}"));
            doc.set(
                "scenario",
                Json::obj().with("occupants", a.occupants).with("room", room.as_str()).with("server", a.client.server.as_str()).with("muc_domain", a.client.muc_domain.as_str()).with("register", a.client.register),
            );
            let params = storm::Params {
                client: a.client.cfg(),
                accounts: a.client.accounts(a.occupants),
                muc_domain: a.client.muc_domain.clone(),
                occupants: a.occupants,
                room,
                timeout: a.timeout,
                watched,
                concurrency: a.client.connect_concurrency,
            };
            let result = rt.block_on(storm::run(params)).map_err(|e| (1, e))?;
            if let Json::Obj(members) = result {
                for (k, v) in members {
                    doc.set(&k, v);
                }
            }
            doc.set("steps", Json::Arr(vec![]));
        }
        Mode::Component(a) => {
            let layout = layout(&a.scenario, &run).map_err(bad)?;
            let plans = plans(&a.scenario).map_err(bad)?;
            doc.set("mode", "component");
            doc.set(
                "scenario",
                scenario_json(&a.scenario, &layout).with("listen", a.listen.as_str()).with("mix_domain", a.mix_domain.as_str()).with("muc_domain", a.muc_domain.as_str()),
            );
            let mut shared = Shared::new(run.clone(), layout.clone());
            shared.component = true;
            let params = component::Params {
                listen: a.listen.clone(),
                mix_domain: a.mix_domain.clone(),
                mix_secret: a.mix_secret.clone(),
                muc_domain: a.muc_domain.clone(),
                muc_secret: a.muc_secret.clone(),
                user_domain: a.user_domain.clone(),
                accept_timeout: a.accept_timeout,
                layout,
                plans,
                limits: limits(&a.scenario),
                watched,
                concurrency: a.connect_concurrency,
            };
            let (setup, reports) = rt.block_on(component::run(params, Arc::new(shared))).map_err(|e| (1, e))?;
            doc.set("setup", setup);
            doc.set("summary", steps::summary(&reports, !a.scenario.rates.is_empty()));
            doc.set("steps", Json::Arr(reports));
        }
    }
    doc.set("tool_cpu_s", cpu0.zip(procstat::cpu_seconds("self")).map(|(a, b)| b - a));
    doc.set("elapsed_s", started.elapsed().as_secs_f64());
    // Do not wait for lingering tasks (e.g. sockets the server keeps open).
    rt.shutdown_background();
    Ok((doc, common.out))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok((doc, out)) => {
            let text = doc.pretty();
            match out {
                Some(path) => {
                    if let Err(e) = std::fs::write(&path, text) {
                        eprintln!("mixmuc-bench: cannot write {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                }
                None => print!("{text}"),
            }
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("mixmuc-bench: {e}");
            ExitCode::from(code)
        }
    }
}
