"""Smoke runs of the load generator (target/debug/mixmuc-bench, docs/bench-tool.md).

Tiny scenarios against the interop bed (through Prosody: mixmuc's MUC view,
Prosody's own MUC, a mixed MUC + MIX room, a join storm) and one component-mode
run against a fresh mixmuc process that attaches to the tool itself. Each run
must deliver every message exactly once to every member. No timed assertions:
latency figures are only checked for presence.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from bed import REPO

BENCH = Path(os.environ.get("MM_BENCH_BIN") or REPO / "target" / "debug" / "mixmuc-bench")
#: Guards against a hung tool only; no assertion depends on time.
RUN_LIMIT = 120


def bench(*args: str) -> dict:
    if not BENCH.exists():
        pytest.fail(f"{BENCH} is missing: cargo build --workspace (or -p mixmuc-bench) first")
    proc = subprocess.run([str(BENCH), *args], capture_output=True, text=True, timeout=RUN_LIMIT)
    assert proc.returncode == 0, f"mixmuc-bench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout)


def client_args(bed, users: list[str], muc_domain: str) -> list[str]:
    return [
        "--server", f"{bed.c2s[0]}:{bed.c2s[1]}", "--domain", bed.user_domain,
        "--password", bed.password, "--users", ",".join(users), "--muc-domain", muc_domain,
    ]


def assert_exact(doc: dict, sessions: int, room_size: int, sent: int) -> None:
    """Every message of every step reached every member once, and nothing else arrived."""
    assert doc["setup"]["sessions"] == sessions
    assert doc["steps"], "no steps reported"
    for step in doc["steps"]:
        assert step["sent"] == sent
        assert step["expected"] == sent * room_size
        assert step["delivered"] == step["expected"], step
        assert (step["losses"], step["duplicates"], step["misrouted"], step["foreign"], step["errors"]) == (0, 0, 0, 0, 0), step
        assert step["latency_ms"]["p50"] is not None and step["latency_ms"]["max"] >= step["latency_ms"]["p50"]
        assert step["tool_cpu_s"] is not None
    assert doc["summary"]["delivered"] == sent * room_size


@pytest.mark.parametrize("view", ["mixmuc", "prosody"])
def test_muc_fanout(bed, view):
    muc = bed.main.muc if view == "mixmuc" else bed.conference
    doc = bench("c2s", *client_args(bed, ["alice", "bob", "carol"], muc),
                "--occupants", "3", "--senders", "2", "--rate", "20", "--duration", "1",
                "--warmup", "0.5", "--grace", "15")
    assert doc["mode"] == "c2s"
    assert [s["phase"] for s in doc["steps"]] == ["warmup", "measure"]
    # 20 msgs/s: 10 in the half-second warm-up, 20 in the measure step.
    warmup, measure = doc["steps"]
    assert (warmup["sent"], measure["sent"]) == (10, 20)
    for step in doc["steps"]:
        assert step["delivered"] == step["sent"] * 3 and step["losses"] == 0 and step["duplicates"] == 0, step
    assert doc["summary"]["step"] == 1


def test_mixed_muc_and_mix_room(bed, mix_pam):
    """Half the members join through MIX (XEP-0405); senders in both views."""
    users = ["alice", "bob", "carol", "dave", "eve", "admin"]
    doc = bench("c2s", *client_args(bed, users, bed.main.muc), "--mix-domain", bed.main.mix,
                "--occupants", "6", "--mix-per-room", "3", "--senders", "4", "--rate", "20",
                "--duration", "1", "--warmup", "0", "--grace", "15")
    assert_exact(doc, 6, 6, 20)
    assert doc["setup"]["mix_left"] == 3


def test_two_rooms_and_a_sweep(bed):
    """Traffic in two rooms at once, two rates: nothing crosses rooms."""
    users = ["alice", "bob", "carol", "dave"]
    doc = bench("c2s", *client_args(bed, users, bed.main.muc), "--rooms", "2", "--occupants", "2",
                "--senders", "4", "--rates", "10,20", "--duration", "1", "--warmup", "0", "--grace", "15")
    steps = doc["steps"]
    assert [s["sent"] for s in steps] == [10, 20]
    for step in steps:
        assert step["delivered"] == step["sent"] * 2 and step["misrouted"] == 0 and step["duplicates"] == 0, step
    assert doc["summary"]["max_delivered_per_s"] is not None


@pytest.mark.parametrize("view", ["mixmuc", "prosody"])
def test_join_storm(bed, view):
    muc = bed.main.muc if view == "mixmuc" else bed.conference
    doc = bench("join-storm", *client_args(bed, ["alice", "bob", "carol", "dave", "eve"], muc),
                "--occupants", "5", "--timeout", "60")
    storm = doc["storm"]
    assert storm["complete"] is True, storm
    assert storm["completed_occupants"] == 5
    assert storm["full_list_s"] is not None and storm["all_joined_s"] is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_component_mode_against_fresh_mixmuc(bed):
    """The tool plays the XMPP server: mixmuc attaches to it, synthetic users talk."""
    binary = bed.env["BINARY"]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mixmuc-bench-") as tmp:
        config = Path(tmp) / "mixmuc.toml"
        config.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
max_backoff_secs = 1
[mix]
domain = "mix.bench"
secret = "mix-secret"
[muc]
domain = "muc.bench"
secret = "muc-secret"
[store]
url = "sqlite://{tmp}/mixmuc.db"
[service]
create_channels = "anyone"
local_domains = ["bench.local"]
[limits]
message_rate = 0
presence_rate = 0
[log]
filter = "warn"
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIXMUC_")}
        log = open(Path(tmp) / "mixmuc.log", "w")
        mixmuc = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            doc = bench("component", "--listen", f"127.0.0.1:{port}",
                        "--mix-domain", "mix.bench", "--mix-secret", "mix-secret",
                        "--muc-domain", "muc.bench", "--muc-secret", "muc-secret",
                        "--rooms", "2", "--occupants", "4", "--mix-per-room", "2", "--senders", "4",
                        "--rate", "40", "--duration", "1", "--warmup", "0", "--grace", "15",
                        "--pid", f"mixmuc={mixmuc.pid}")
        finally:
            mixmuc.send_signal(signal.SIGTERM)
            try:
                mixmuc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                mixmuc.kill()
                mixmuc.wait()
            log.close()
    assert doc["mode"] == "component"
    # 40 messages into rooms of 4 members (2 MUC + 2 MIX): 160 deliveries, each exactly once.
    assert_exact(doc, 8, 4, 40)
    step = doc["steps"][0]
    assert step["stanzas_out"] >= step["delivered"]
    assert step["mixmuc_cpu_s"] is not None
