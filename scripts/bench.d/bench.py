#!/usr/bin/env python3
"""Scenario driver and report writer for scripts/bench.

    bench.py run --env ENV --scenario S1 --target a [--quick] --raw DIR
    bench.py report --raw DIR --out DIR

`run` starts the load generator (mixmuc-bench, see docs/bench-tool.md) for one
scenario against one target, with a sweep of offered rates, while the sampler
(procstat.py) watches the server processes; the tool's JSON, the sampler's
figures and the derived numbers go to DIR/<scenario>-<target>.json.
`report` turns every raw file into results.csv, steps.csv, summary.json and
latency.png (latency against offered load for targets a, b, c).

Targets: a Prosody's MUC, b mixmuc's MUC domain, c mixmuc's MIX domain (through
mod_mix_pam), m mixmuc with half MUC occupants and half MIX participants in
the same rooms (S1 only), d ejabberd's mod_muc, s5 the tool's component mode
(mixmuc alone). ENV is the file scripts/bench writes (ports, domains, pids).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procstat import Sampler  # noqa: E402

TARGETS = {
    "a": "Prosody MUC",
    "b": "mixmuc MUC",
    "c": "mixmuc MIX (mod_mix_pam)",
    "m": "mixmuc MUC+MIX half/half",
    "d": "ejabberd mod_muc",
    "s5": "mixmuc component-only",
}

# Offered message rates (messages/s, all senders together), ascending.
# Each message is delivered to every member of its room.
SWEEPS = {
    "S1": [2, 5, 10, 20, 30, 45, 70, 100, 150, 220, 330, 500, 750],
    "S2": [100, 200, 400, 700, 1000, 1500, 2200, 3300, 5000, 7500, 11000],
    "S5": [50, 100, 200, 400, 700, 1000, 1500, 2200, 3300, 5000, 7500, 11000],
}


def parse_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip().strip("'\"")
    return env


def sizes(scenario: str, quick: bool) -> dict[str, int]:
    if scenario == "S1":
        return {"rooms": 1, "occupants": 60 if quick else 200, "senders": 10}
    if scenario == "S2":
        rooms = 100 if quick else 1000
        return {"rooms": rooms, "occupants": 5, "senders": rooms}
    if scenario == "S2long":
        rooms = 100 if quick else 1000
        return {"rooms": rooms, "occupants": 5, "senders": rooms}
    if scenario == "S3":
        return {"rooms": 1, "occupants": 60 if quick else 300, "senders": 0}
    if scenario == "S5":
        return {"rooms": 1, "occupants": 60 if quick else 200, "senders": 10}
    raise SystemExit(f"unknown scenario {scenario}")


def pids(env: dict[str, str], target: str) -> dict[str, int]:
    """The server processes that matter for TARGET (all of ours are sampled)."""
    out = {}
    for name, key in (("prosody", "PROSODY_PID"), ("mixmuc", "MIXMUC_PID"), ("ejabberd", "EJABBERD_PID")):
        if env.get(key):
            out[name] = int(env[key])
    if target == "s5":
        out = {"mixmuc": int(env["S5_MIXMUC_PID"])} if env.get("S5_MIXMUC_PID") else {}
    return out


def tool_argv(env: dict[str, str], scenario: str, target: str, quick: bool, user_prefix: str) -> list[str]:
    s = sizes(scenario, quick)
    tool = env["TOOL"]
    duration = "4" if quick else "8"
    common = ["--threads", env.get("TOOL_THREADS", "1")]
    for name, pid in pids(env, target).items():
        common += ["--pid", f"{name}={pid}"]
    if target == "s5":
        rates = SWEEPS["S5"]
        return [tool, "component", "--listen", f"127.0.0.1:{env['S5_PORT']}",
                "--mix-domain", env["S5_MIX_DOMAIN"], "--mix-secret", env["S5_MIX_SECRET"],
                "--muc-domain", env["S5_MUC_DOMAIN"], "--muc-secret", env["S5_MUC_SECRET"],
                "--user-domain", "bench.local",
                "--rooms", str(s["rooms"]), "--occupants", str(s["occupants"]), "--senders", str(s["senders"]),
                "--rates", ",".join(map(str, rates)), "--stop-at-saturation",
                "--duration", duration, "--warmup", "2", "--grace", "5", *common]
    if target == "d":
        server, muc, mix = env["EJABBERD_C2S"], env["EJABBERD_MUC_DOMAIN"], None
    else:
        server, muc, mix = env["PROSODY_C2S"], (env["CONFERENCE_DOMAIN"] if target == "a" else env["MUC_DOMAIN"]), env["MIX_DOMAIN"]
    base = [tool, "join-storm" if scenario == "S3" else "c2s", "--server", server, "--domain", "localhost",
            "--user-prefix", user_prefix, "--password", "pass", "--register", "--muc-domain", muc,
            "--connect-concurrency", "50", *common]
    if scenario == "S3":
        return base + ["--occupants", str(s["occupants"]), "--timeout", "300"]
    mix_per_room = {"c": s["occupants"], "m": s["occupants"] // 2}.get(target, 0)
    if mix_per_room:
        base += ["--mix-domain", mix]
    base += ["--rooms", str(s["rooms"]), "--occupants", str(s["occupants"]), "--mix-per-room", str(mix_per_room),
             "--senders", str(s["senders"]), "--grace", "5"]
    if scenario == "S2long":
        rate = env.get("S2LONG_RATE", "500")
        return base + ["--rate", rate, "--duration", "60" if quick else "600", "--warmup", "0"]
    key = scenario
    # BENCH_RATES_S1 / BENCH_RATES_S2: a finer sweep around a saturation point.
    own = env.get(f"RATES_{key}", "")
    rates = [int(r) for r in own.split(",")] if own else SWEEPS[key]
    return base + ["--rates", ",".join(map(str, rates)), "--stop-at-saturation", "--duration", duration, "--warmup", "2"]


def measure_steps(result: dict) -> list[dict]:
    return [st for st in result.get("steps", []) if st.get("phase") == "measure"]


def derive(scenario: str, target: str, result: dict, sampler: Sampler, members: int) -> dict:
    """Saturation, the step at half of it, CPU per 10k delivered, memory."""
    out: dict = {"scenario": scenario, "target": target, "label": TARGETS[target]}
    steps = measure_steps(result)
    usage = {n: {"cpu_s": u.cpu, "rss_start_kb": u.rss_start_kb, "rss_end_kb": u.rss_end_kb, "rss_peak_kb": u.rss_peak_kb}
             for n, u in sampler.usage.items()}
    out["sampler"] = usage
    if "mixmuc" in sampler.usage and sampler.usage["mixmuc"].samples:
        out["mixmuc_rss_series"] = sampler.usage["mixmuc"].samples
    if scenario == "S3":
        out["storm"] = result.get("storm")
        return out
    if not steps:
        out["error"] = "no measure step"
        return out
    valid = [st for st in steps if not st.get("tool_limited")]
    sat_rate = max((st.get("delivered_per_s") or 0) for st in valid) if valid else None
    out["saturation_delivered_per_s"] = sat_rate
    out["saturated_reached"] = any(st.get("saturated") for st in steps)
    out["tool_limited_steps"] = sum(1 for st in steps if st.get("tool_limited"))
    out["losses"] = sum(st.get("losses", 0) for st in steps)
    out["duplicates"] = sum(st.get("duplicates", 0) for st in steps)
    out["misrouted"] = sum(st.get("misrouted", 0) for st in steps)
    out["errors"] = sum(st.get("errors", 0) for st in steps)
    room = result.get("scenario", {}).get("occupants") or 1
    # Half of saturation: the non-saturated step whose offered delivery rate
    # is closest to half the highest delivered rate.
    if sat_rate:
        half = sat_rate / 2
        cands = [st for st in valid if not st.get("saturated")] or valid
        pick = min(cands, key=lambda st: abs(st["offered_rate"] * room - half))
        out["half"] = {
            "offered_rate": pick["offered_rate"],
            "offered_deliveries_per_s": pick["offered_rate"] * room,
            "fraction_of_saturation": round(pick["offered_rate"] * room / sat_rate, 3),
            "delivered_per_s": pick.get("delivered_per_s"),
            "p50_ms": pick["latency_ms"]["p50"],
            "p99_ms": pick["latency_ms"]["p99"],
            "losses": pick.get("losses"),
            "duplicates": pick.get("duplicates"),
        }
        delivered = pick.get("delivered") or 0
        cpu = {}
        for name, p in (pick.get("processes") or {}).items():
            if delivered and p.get("cpu_s") is not None:
                cpu[name] = round(p["cpu_s"] / delivered * 10_000, 4)
        if delivered and pick.get("tool_cpu_s") is not None:
            cpu["tool"] = round(pick["tool_cpu_s"] / delivered * 10_000, 4)
        out["half"]["cpu_s_per_10k"] = cpu
    if "mixmuc" in usage:
        out["mixmuc_peak_rss_kb"] = usage["mixmuc"]["rss_peak_kb"]
    if scenario in ("S2", "S2long") and target in ("b", "c", "m") and steps:
        first = steps[0].get("processes", {}).get("mixmuc", {})
        start = usage.get("mixmuc", {}).get("rss_start_kb")
        if first.get("rss_kb") and start:
            out["memberships"] = members
            out["mixmuc_rss_per_membership_b"] = round((first["rss_kb"] - start) * 1024 / members, 1)
    if scenario == "S5":
        out["s5"] = [{k: st.get(k) for k in ("offered_rate", "stanzas_out_per_s", "mixmuc_cpu_s", "stanzas_out_per_cpu_s", "saturated", "tool_limited")} for st in steps]
        best = [st.get("stanzas_out_per_cpu_s") or 0 for st in valid]
        out["s5_stanzas_out_per_cpu_s_max"] = max(best) if best else None
        out["s5_stanzas_out_per_s_max"] = max((st.get("stanzas_out_per_s") or 0) for st in valid) if valid else None
    return out


def cmd_run(args: argparse.Namespace) -> int:
    env = parse_env(Path(args.env))
    raw = Path(args.raw)
    raw.mkdir(parents=True, exist_ok=True)
    name = f"{args.scenario}-{args.target}"
    # Accounts: one namespace per server and layout size, registered in band once.
    s = sizes(args.scenario, args.quick)
    prefix = f"{args.scenario.lower().rstrip('long')}{'q' if args.quick else ''}{args.target if args.target == 'd' else ''}u"
    argv = tool_argv(env, args.scenario, args.target, args.quick, prefix)
    out_json = raw / f"{name}.tool.json"
    argv += ["--out", str(out_json)]
    print(f"[bench] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
    log = open(raw / f"{name}.tool.log", "w")
    keep_series = args.scenario in ("S2", "S2long")
    started = time.time()
    with Sampler(pids(env, args.target), interval=1.0 if keep_series else 0.25, keep_series=keep_series) as sampler:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    elapsed = time.time() - started
    record = {"scenario": args.scenario, "target": args.target, "quick": args.quick, "argv": argv,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "elapsed_s": round(elapsed, 1),
              "exit": proc.returncode, "tool_rusage_cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
              "tool_maxrss_kb": ru.ru_maxrss}
    if proc.returncode != 0 or not out_json.exists():
        record["error"] = f"tool exited {proc.returncode}; see {name}.tool.log"
        tail = (raw / f"{name}.tool.log").read_text()[-2000:]
        print(f"[bench] {name} FAILED (exit {proc.returncode}):\n{tail}", file=sys.stderr)
        (raw / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        return 1
    result = json.loads(out_json.read_text())
    record["derived"] = derive(args.scenario, args.target, result, sampler, s["rooms"] * s["occupants"])
    (raw / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    d = record["derived"]
    print(f"[bench] {name}: saturation {d.get('saturation_delivered_per_s')} delivered/s, half {d.get('half')}, storm {d.get('storm')}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- report

def load_raw(raw: Path) -> list[dict]:
    out = []
    for p in sorted(raw.glob("*.json")):
        if p.name.endswith(".tool.json") or p.name == "summary.json":
            continue
        rec = json.loads(p.read_text())
        tool = p.with_name(p.stem + ".tool.json")
        rec["tool"] = json.loads(tool.read_text()) if tool.exists() else None
        out.append(rec)
    return out


def cmd_report(args: argparse.Namespace) -> int:
    raw, out = Path(args.raw), Path(args.out)
    recs = load_raw(raw)
    rows, steps_rows, s4_rows, append_rows = [], [], [], []
    for r in recs:
        if r.get("scenario") == "S5-append":
            append_rows += [{"channels": r.get("channels"), "rows": r.get("rows"), **x} for x in r.get("results") or []]
            continue
        if str(r.get("scenario", "")).startswith("stall"):
            continue  # stall.py's own summary (docs/benchmarks.md, "Memory with a stalled recipient")
        if r.get("scenario") == "S4":
            for kind, q in (r.get("queries") or {}).items():
                s4_rows.append({"store": r.get("store"), "messages": r.get("messages"), "page": r.get("page"),
                                "fill_seconds": r.get("fill_seconds"), "query": kind, **q})
            continue
        d = r.get("derived", {})
        half = d.get("half") or {}
        cpu = half.get("cpu_s_per_10k") or {}
        storm = d.get("storm") or {}
        rows.append({
            "scenario": r["scenario"], "target": r["target"], "label": TARGETS.get(r["target"], r["target"]),
            "quick": r.get("quick"), "date": r.get("date"), "error": r.get("error") or d.get("error") or "",
            "saturation_delivered_per_s": d.get("saturation_delivered_per_s"),
            "saturated_reached": d.get("saturated_reached"),
            "half_offered_deliveries_per_s": half.get("offered_deliveries_per_s"),
            "half_fraction": half.get("fraction_of_saturation"),
            "p50_ms": half.get("p50_ms"), "p99_ms": half.get("p99_ms"),
            "cpu_10k_prosody": cpu.get("prosody"), "cpu_10k_mixmuc": cpu.get("mixmuc"),
            "cpu_10k_ejabberd": cpu.get("ejabberd"), "cpu_10k_tool": cpu.get("tool"),
            "mixmuc_peak_rss_kb": d.get("mixmuc_peak_rss_kb"),
            "rss_per_membership_b": d.get("mixmuc_rss_per_membership_b"),
            "half_losses": half.get("losses"), "half_duplicates": half.get("duplicates"),
            "sweep_losses": d.get("losses"), "sweep_duplicates": d.get("duplicates"), "errors": d.get("errors"),
            "storm_all_joined_s": storm.get("all_joined_s"), "storm_full_list_s": storm.get("full_list_s"),
            "storm_complete": storm.get("complete"),
            "s5_stanzas_out_per_s": d.get("s5_stanzas_out_per_s_max"),
            "s5_stanzas_out_per_cpu_s": d.get("s5_stanzas_out_per_cpu_s_max"),
        })
        for st in measure_steps(r.get("tool") or {}):
            room = (r["tool"].get("scenario") or {}).get("occupants") or 1
            steps_rows.append({
                "scenario": r["scenario"], "target": r["target"], "offered_rate": st.get("offered_rate"),
                "offered_deliveries_per_s": (st.get("offered_rate") or 0) * room,
                "delivered_per_s": st.get("delivered_per_s"), "p50_ms": st["latency_ms"].get("p50"),
                "p99_ms": st["latency_ms"].get("p99"), "losses": st.get("losses"), "duplicates": st.get("duplicates"),
                "saturated": st.get("saturated"), "tool_limited": st.get("tool_limited"),
                "tool_cpu_s": st.get("tool_cpu_s"),
                **{f"cpu_{n}": p.get("cpu_s") for n, p in (st.get("processes") or {}).items()},
            })
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", rows)
    write_csv(out / "steps.csv", steps_rows)
    if s4_rows:
        write_csv(out / "s4.csv", s4_rows)
    if append_rows:
        write_csv(out / "s5-append.csv", append_rows)
    series = {f"{r['scenario']}-{r['target']}": r["derived"]["mixmuc_rss_series"] for r in recs if r.get("derived", {}).get("mixmuc_rss_series")}
    (out / "summary.json").write_text(json.dumps({"results": rows, "s4": s4_rows, "mixmuc_rss_series": series}, indent=1) + "\n")
    plot(steps_rows, out / "latency.png")
    print(f"[bench] wrote {out}/results.csv, steps.csv, summary.json, latency.png", file=sys.stderr)
    return 0


def write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def plot(steps_rows: list[dict], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[bench] matplotlib missing (pip install -r scripts/bench.d/requirements.txt): no plot", file=sys.stderr)
        return
    scen = [s for s in ("S1", "S2") if any(r["scenario"] == s for r in steps_rows)]
    if not scen:
        return
    fig, axes = plt.subplots(1, len(scen), figsize=(6.5 * len(scen), 4.8), squeeze=False)
    for ax, s in zip(axes[0], scen):
        for t, style in (("a", "o-"), ("b", "s-"), ("c", "^-"), ("m", "v--"), ("d", "x:")):
            pts = [r for r in steps_rows if r["scenario"] == s and r["target"] == t and not r["tool_limited"]]
            if not pts:
                continue
            xs = [r["offered_deliveries_per_s"] for r in pts]
            line, = ax.plot(xs, [r["p99_ms"] for r in pts], style, label=f"({t}) {TARGETS[t]} p99")
            ax.plot(xs, [r["p50_ms"] for r in pts], style, alpha=0.35, color=line.get_color(), label=f"({t}) p50")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered load (stanzas to deliver per second)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"{s}: latency against offered load")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--env", required=True)
    r.add_argument("--scenario", required=True, choices=["S1", "S2", "S2long", "S3", "S5"])
    r.add_argument("--target", required=True, choices=list(TARGETS))
    r.add_argument("--quick", action="store_true")
    r.add_argument("--raw", required=True)
    rep = sub.add_parser("report")
    rep.add_argument("--raw", required=True)
    rep.add_argument("--out", required=True)
    args = p.parse_args()
    return cmd_run(args) if args.cmd == "run" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
