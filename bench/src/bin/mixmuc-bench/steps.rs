//! The step driver: issues messages at the offered rate (open loop, round
//! robin over the senders), waits for stragglers, and turns the receivers'
//! accounting into one JSON object per step.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::json::Json;
use crate::procstat;
use crate::stats::{self, Shared};

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub phase: &'static str,
    pub rate: f64,
    pub duration: f64,
}

/// What decides that a step saturated the service.
#[derive(Debug, Clone)]
pub struct Limits {
    pub grace: f64,
    pub p99_ms: f64,
    pub stop_at_saturation: bool,
}

/// Other processes to watch, by name.
pub type Watched = Vec<(String, String)>;

/// Sends one message: (sender session, step, token body).
pub type SendFn<'a> = dyn Fn(usize, &str) + 'a;

/// Runs the steps in order; returns the step reports.
pub async fn run(shared: &Arc<Shared>, plans: &[StepPlan], limits: &Limits, watched: &Watched, send: &SendFn<'_>) -> Vec<Json> {
    let layout = &shared.layout;
    let room_size = layout.occupants as u64;
    let mut seqs = vec![0u64; layout.sessions()];
    let mut expected_total = 0u64;
    let mut reports = vec![];
    for (step, plan) in plans.iter().enumerate() {
        let total = (plan.rate * plan.duration).round().max(1.0) as u64;
        eprintln!("mixmuc-bench: step {step} ({}): {} msgs/s for {} s ({total} messages)", plan.phase, plan.rate, plan.duration);
        let cpu0 = procstat::cpu_seconds("self");
        let watched0: Vec<Option<f64>> = watched.iter().map(|(_, pid)| procstat::cpu_seconds(pid)).collect();
        let errors0 = shared.errors.load(Ordering::Relaxed);
        let foreign0 = shared.foreign.load(Ordering::Relaxed);
        let stanzas0 = shared.stanzas_in.load(Ordering::Relaxed);
        let start = Instant::now();
        let first_ns = shared.now_ns();
        let mut issued = 0u64;
        let mut last_issue = start;
        while issued < total {
            let elapsed = start.elapsed().as_secs_f64();
            let due = ((elapsed * plan.rate).floor() as u64 + 1).min(total);
            while issued < due {
                let j = (issued % layout.senders as u64) as usize;
                let sender = layout.sender_session(j);
                let seq = seqs[sender];
                seqs[sender] += 1;
                send(sender, &stats::token(&shared.run, step, sender, seq, shared.now_ns()));
                issued += 1;
            }
            last_issue = Instant::now();
            if issued < total {
                tokio::time::sleep_until((start + Duration::from_secs_f64(issued as f64 / plan.rate)).into()).await;
            }
        }
        let send_s = last_issue.duration_since(start).as_secs_f64() + 1.0 / plan.rate;
        expected_total += total * room_size;
        let grace_end = Instant::now() + Duration::from_secs_f64(limits.grace);
        while shared.delivered.load(Ordering::Relaxed) < expected_total && Instant::now() < grace_end {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed_s = start.elapsed().as_secs_f64();
        let cpu1 = procstat::cpu_seconds("self");
        let stanzas = shared.stanzas_in.load(Ordering::Relaxed) - stanzas0;
        let mut h = shared.harvest(step);
        h.latency_us.sort_unstable();
        let expected = total * room_size;
        let losses = expected.saturating_sub(h.delivered);
        let window_s = if h.last_ns > first_ns { (h.last_ns - first_ns) as f64 / 1e9 } else { elapsed_s };
        let delivered_per_s = h.delivered as f64 / window_s.max(1e-9);
        let send_rate = total as f64 / send_s;
        let p99 = stats::percentile_ms(&h.latency_us, 0.99);
        let saturated = losses > 0
            || delivered_per_s < 0.95 * plan.rate * room_size as f64
            || p99.is_some_and(|p| p > limits.p99_ms);
        let mean = if h.latency_us.is_empty() { None } else { Some(h.latency_us.iter().map(|&v| v as f64).sum::<f64>() / h.latency_us.len() as f64 / 1000.0) };
        let latency = Json::obj()
            .with("p50", stats::percentile_ms(&h.latency_us, 0.50))
            .with("p90", stats::percentile_ms(&h.latency_us, 0.90))
            .with("p99", p99)
            .with("max", h.latency_us.last().map(|&v| v as f64 / 1000.0))
            .with("mean", mean);
        let mut processes = Json::obj();
        let mut mixmuc_cpu = None;
        for ((name, pid), before) in watched.iter().zip(&watched0) {
            let cpu = match (before, procstat::cpu_seconds(pid)) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            if name == "mixmuc" {
                mixmuc_cpu = cpu;
            }
            let (rss, hwm) = procstat::memory_kb(pid);
            processes.set(name, Json::obj().with("pid", pid.as_str()).with("cpu_s", cpu).with("rss_kb", rss).with("hwm_kb", hwm));
        }
        let mut report = Json::obj()
            .with("step", step)
            .with("phase", plan.phase)
            .with("offered_rate", plan.rate)
            .with("duration_s", plan.duration)
            .with("sent", total)
            .with("send_rate", send_rate)
            .with("expected", expected)
            .with("delivered", h.delivered)
            .with("delivered_per_s", delivered_per_s)
            .with("losses", losses)
            .with("duplicates", h.duplicates)
            .with("misrouted", h.misrouted)
            .with("foreign", shared.foreign.load(Ordering::Relaxed) - foreign0)
            .with("errors", shared.errors.load(Ordering::Relaxed) - errors0)
            .with("latency_ms", latency)
            .with("elapsed_s", elapsed_s)
            .with("tool_cpu_s", cpu0.zip(cpu1).map(|(a, b)| b - a))
            .with("processes", processes)
            .with("saturated", saturated)
            .with("tool_limited", send_rate < 0.95 * plan.rate);
        if shared.stanzas_in_counted() {
            report.set("stanzas_out", stanzas);
            report.set("stanzas_out_per_s", stanzas as f64 / elapsed_s);
            report.set("mixmuc_cpu_s", mixmuc_cpu);
            report.set("stanzas_out_per_cpu_s", mixmuc_cpu.filter(|&c| c > 0.0).map(|c| stanzas as f64 / c));
        }
        eprintln!(
            "mixmuc-bench: step {step}: delivered {}/{expected} ({delivered_per_s:.0}/s), p99 {:?} ms, duplicates {}, saturated {saturated}",
            h.delivered, p99, h.duplicates
        );
        reports.push(report);
        if plan.phase == "measure" && saturated && limits.stop_at_saturation {
            eprintln!("mixmuc-bench: saturated at {} msgs/s; stopping the sweep", plan.rate);
            break;
        }
    }
    reports
}

/// The summary: the only measure step, or in a sweep the highest
/// non-saturated one, plus where saturation began.
pub fn summary(reports: &[Json], sweep: bool) -> Json {
    let measure: Vec<&Json> = reports.iter().filter(|r| get(r, "phase").is_some_and(|p| matches!(p, Json::Str(s) if s == "measure"))).collect();
    let saturated = |r: &&Json| matches!(get(r, "saturated"), Some(Json::Bool(true)));
    let mut s = if !sweep {
        measure.last().map(|r| (*r).clone()).unwrap_or(Json::Null)
    } else {
        measure.iter().rfind(|r| !saturated(r)).map(|r| (*r).clone()).unwrap_or(Json::obj())
    };
    if sweep {
        let first_sat = measure.iter().find(|r| saturated(r)).and_then(|r| get(r, "offered_rate")).cloned();
        let best = measure.iter().filter_map(|r| match get(r, "delivered_per_s") {
            Some(Json::Num(v)) => Some(*v),
            _ => None,
        }).fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
        s.set("saturation_offered_rate", first_sat.unwrap_or(Json::Null));
        s.set("max_delivered_per_s", best);
    }
    s
}

fn get<'a>(j: &'a Json, key: &str) -> Option<&'a Json> {
    match j {
        Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}
