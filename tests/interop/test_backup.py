"""The host's commands against the bed's running mixmuc "main" (issue 24,
"Run it like a service"; docs/deploy/operate.md).

- ``mixmuc backup`` while Alice floods a room: each copy passes SQLite's
  integrity check, has the service's schema version, and its archive is
  exactly the service's archive up to the copy's last row (no torn row, no
  row missing before it); the copies were taken mid-load (some of the
  room's messages in, not all); the line the command prints says what the
  copy holds. A second mixmuc ("alt") started on a copy serves that
  archive over MAM: the backup restores.
- ``mixmuc admin destroy`` while "main" serves is refused (exit status 3,
  saying the service is running) and changes nothing; ``admin show`` works
  meanwhile. With "main" stopped it removes the room, which "main" no
  longer knows after its restart.

These tests leave "main" running as they found it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from slixmpp.exceptions import IqError

from test_muc import RoomLog, body, enter, kind, mam_all, new_room

#: Messages Alice has seen reflected before the first copy starts.
BEFORE_FIRST = 60
#: Messages sent after the second copy is done.
AFTER_LAST = 40
#: Seconds between two of Alice's messages.
PACE = 0.004


def main_config(bed) -> Path:
    return bed.dir / "mixmuc-main" / "mixmuc.toml"


def main_db(bed) -> Path:
    return bed.dir / "mixmuc-main" / "mixmuc.db"


def mixmuc(bed, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXMUC_")}
    argv = [bed.env["BINARY"], *args, "--config", str(config or main_config(bed))]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**env, "NO_COLOR": "1"})


def text_of(i: int) -> str:
    return f"backup-load-{i:05d}"


def read(path: Path) -> sqlite3.Connection:
    """Read-only, so that looking changes nothing (the service's file is in use)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetchone()[0]


@pytest.mark.deadline(150)
async def test_backup_under_load_is_consistent_and_restores(bed, xmpp, alt_instance):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "backup")
    channel = room.split("@")[0]
    await enter(bob, room, "Bob", seen_by=[alice])
    log = RoomLog(alice, room)
    reflected: list[str] = []
    sent = 0
    stop = asyncio.Event()

    async def collect():
        while True:
            s = await log.next(timeout=60)
            if kind(s) == "message" and (body(s) or "").startswith("backup-load-"):
                reflected.append(body(s))

    async def flood():
        nonlocal sent
        while not stop.is_set():
            alice.send_message(mto=room, mbody=text_of(sent), mtype="groupchat")
            sent += 1
            await asyncio.sleep(PACE)

    collector = asyncio.create_task(collect())
    sender = asyncio.create_task(flood())
    try:
        while len(reflected) < BEFORE_FIRST:
            await asyncio.sleep(0.05)
        folder = bed.dir / "backups"
        folder.mkdir(exist_ok=True)
        copies = []
        for n in (1, 2):
            path = folder / f"{channel}-{n}.db"
            proc = await asyncio.to_thread(mixmuc, bed, "backup", str(path))
            assert proc.returncode == 0, proc.stderr
            copies.append((path, proc.stdout, sent))
        # Still sending: what comes after the copies is not in them.
        target = sent + AFTER_LAST
        while sent < target:
            await asyncio.sleep(0.05)
        stop.set()
        await sender
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(reflected) < sent and loop.time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        collector.cancel()
    assert reflected == [text_of(i) for i in range(sent)], f"{len(reflected)} of {sent} reflected, in order"

    source = read(main_db(bed))
    version = schema_version(source)
    counts = []
    for path, stdout, sent_then in copies:
        copy = read(path)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert schema_version(copy) == version
        rows = copy.execute("SELECT * FROM archive ORDER BY seq").fetchall()
        columns = [d[0] for d in copy.execute("SELECT * FROM archive LIMIT 0").description]
        assert rows, "an empty archive copied"
        # The service's archive up to the copy's last row, column for column.
        last = rows[-1][0]
        live = source.execute(f"SELECT {', '.join(columns)} FROM archive WHERE seq <= ? ORDER BY seq", (last,)).fetchall()
        assert rows == live, f"{path.name}: the copy differs from the service's archive up to seq {last}"
        # The room's messages in the copy: the first ones sent, in order.
        mine = [payload for (payload,) in copy.execute("SELECT payload FROM archive WHERE channel = ? ORDER BY seq", (channel,))]
        assert all(text_of(i) in p for i, p in enumerate(mine)), f"{path.name}: the room's rows are not its first messages in order"
        assert BEFORE_FIRST <= len(mine) <= sent_then, f"{path.name}: {len(mine)} of the room's messages (sent by then: {sent_then})"
        # What the command said is what the copy holds.
        m = re.search(r": (\d+) bytes .*schema version (\d+), (\d+) channels, (\d+) archive rows", stdout)
        assert m, stdout
        assert int(m[1]) == path.stat().st_size and int(m[2]) == version, stdout
        assert int(m[3]) == copy.execute("SELECT COUNT(*) FROM channels").fetchone()[0], stdout
        assert int(m[4]) == len(rows), stdout
        counts.append(len(mine))
        copy.close()
    source.close()
    assert counts[0] <= counts[1] < sent, f"copies hold {counts} of {sent}: not taken under load"
    print(f"copies hold {counts} of the room's {sent} messages")

    # A mixmuc on the second copy serves its archive.
    restored = bed.dir / "backups" / f"{channel}-restored.db"
    shutil.copyfile(copies[1][0], restored)
    with alt_instance(store_url=f"sqlite://{restored}") as inst:
        carol = await xmpp.connect("carol")
        alt_room = f"{channel}@{inst.muc}"
        await enter(carol, alt_room, "Carol")
        archived = [body(m) for _, m in await mam_all(carol, alt_room)]
        assert [b for b in archived if (b or "").startswith("backup-load-")] == [text_of(i) for i in range(counts[1])]


@pytest.mark.deadline(120)
async def test_admin_destroy_refused_while_serving_done_when_stopped(bed, xmpp):
    alice = await xmpp.connect("alice")
    room, _ = await new_room(bed, alice, "Alice", "admin")
    channel = room.split("@")[0]
    await xmpp.close_all()

    proc = await asyncio.to_thread(mixmuc, bed, "admin", "destroy", channel, "--reason", "test")
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    assert "the service is running" in proc.stderr and "stop it" in proc.stderr, proc.stderr
    shown = await asyncio.to_thread(mixmuc, bed, "admin", "show", channel)
    assert shown.returncode == 0 and f"channel {channel}" in shown.stdout, shown.stderr
    assert "the service is running" in shown.stderr, shown.stderr

    await asyncio.to_thread(bed.mixmuc_stop, "main")
    try:
        proc = await asyncio.to_thread(mixmuc, bed, "admin", "destroy", channel, "--reason", "test")
        assert proc.returncode == 0, proc.stderr
        assert f"destroyed channel '{channel}'" in proc.stdout, proc.stdout
        listing = await asyncio.to_thread(mixmuc, bed, "admin", "channels")
        assert listing.returncode == 0 and channel not in listing.stdout, listing.stdout
        assert "the service is running" not in listing.stderr, listing.stderr
    finally:
        await asyncio.to_thread(bed.mixmuc_start, "main")

    bob = await xmpp.connect("bob")
    with pytest.raises(IqError) as err:
        await bob.plugin["xep_0030"].get_info(jid=room, timeout=10)
    assert err.value.iq["error"]["condition"] == "item-not-found"
