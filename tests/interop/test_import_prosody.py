"""Taking over a Prosody MUC service (issue 23): ``mixmuc import prosody``.

A second private Prosody 0.12 ("the old service": its own c2s port, its own data
folder, ``Component "rooms.localhost" "muc"`` with ``muc_mam``) is filled by real
slixmpp clients: rooms created and configured, affiliations set (owner, admin,
member, outcast with a reason), a nick registered, a subject, a few dozen messages
with payloads. Its MAM answers are the reference. It is stopped, its data imported
into the store of the bed's mixmuc instance "alt" (MUC domain muc2.localhost: the
rooms keep their localparts), and real clients check through the bed's Prosody
that mixmuc serves the same rooms: configuration, the outcast refused, members-only
held, the registered nick, MAM with the same ids and stamps, MAM "after the last id
seen". An import run again adds nothing; broken data skips the room it belongs to,
names it, and makes the command fail, while the other rooms go in.

Both Prosody storages are covered: SQL on SQLite (mod_storage_sql, needs the Debian
package lua-dbi-sqlite3) and internal (files).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, Client, unique_name
from test_muc import NS_MUC_OWNER, RoomLog, body, enter, error, kind, mam_all, mix_join_direct, room_stanza_id, subject

OLD_HOST = "rooms.localhost"
NS_DATA = "jabber:x:data"
NS_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_REGISTER = "jabber:iq:register"
NS_DELAY = "urn:xmpp:delay"
NS_NOTE = "urn:example:import"
NS_CLIENT = "jabber:client"


# ---------------------------------------------------------------------------
# The old service: a private Prosody with a native MUC component

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OldProsody:
    """A Prosody 0.12 of its own in DIR, MUC component rooms.localhost with
    muc_mam, storage "sql" (SQLite3) or "internal"; the bed's accounts on
    VirtualHost "localhost"."""

    def __init__(self, bed, directory: Path, storage: str):
        self.bed = bed
        self.dir = directory
        self.storage = storage
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (directory / "data").mkdir(parents=True)
        (directory / "certs").mkdir()
        storage_lines = 'storage = "sql"\nsql = { driver = "SQLite3", database = "prosody.sqlite" }' \
            if storage == "sql" else 'storage = "internal"'
        self.config = directory / "prosody.cfg.lua"
        self.config.write_text(f"""
run_as_root = true
data_path = "{directory}/data"
certificates = "{directory}/certs"
pidfile = "{directory}/prosody.pid"
interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.port} }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_direct_tls_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
{storage_lines}
log = {{ info = "{directory}/prosody.log" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping" }}
modules_disabled = {{ "s2s"; "tls"; "http"; "bosh"; "websocket" }}

VirtualHost "localhost"

Component "{OLD_HOST}" "muc"
\tmodules_enabled = {{ "muc_mam" }}
\tmuc_log_by_default = true
""")
        for user in bed.accounts:
            subprocess.run(["prosodyctl", "--config", str(self.config), "register", user, "localhost", bed.password],
                           check=True, capture_output=True, timeout=60)

    @property
    def sql(self) -> Path:
        return self.dir / "data" / "prosody.sqlite"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def start(self) -> None:
        out = open(self.dir / "prosody.out", "ab")
        self.proc = subprocess.Popen(["prosody", "--config", str(self.config), "-F"], stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the old Prosody exited: {(self.dir / 'prosody.out').read_text()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the old Prosody did not listen")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    async def connect(self, user: str) -> Client:
        client = Client(f"{user}@localhost/old", self.bed.password)
        await client.start("127.0.0.1", self.port)
        return client


def form(form_type: str, fields: dict[str, str]) -> ET.Element:
    x = ET.Element(f"{{{NS_DATA}}}x", {"type": "submit"})
    for var, value in {"FORM_TYPE": form_type, **fields}.items():
        f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": var})
        ET.SubElement(f, f"{{{NS_DATA}}}value").text = value
    return x


async def configure(client, room: str, fields: dict[str, str]) -> None:
    iq = client.make_iq_set(ito=room)
    query = ET.Element(f"{{{NS_MUC_OWNER}}}query")
    query.append(form("http://jabber.org/protocol/muc#roomconfig", {f"muc#roomconfig_{k}": v for k, v in fields.items()}))
    iq.append(query)
    await iq.send(timeout=IQ_TIMEOUT)


async def set_affiliation(client, room: str, jid: str, affiliation: str, reason: str | None = None) -> None:
    iq = client.make_iq_set(ito=room)
    query = ET.Element(f"{{{NS_ADMIN}}}query")
    item = ET.SubElement(query, f"{{{NS_ADMIN}}}item", {"jid": jid, "affiliation": affiliation})
    if reason:
        ET.SubElement(item, f"{{{NS_ADMIN}}}reason").text = reason
    iq.append(query)
    await iq.send(timeout=IQ_TIMEOUT)


async def register_nick(client, room: str, nick: str) -> None:
    iq = client.make_iq_set(ito=room)
    query = ET.Element(f"{{{NS_REGISTER}}}query")
    query.append(form("http://jabber.org/protocol/muc#register", {"muc#register_roomnick": nick}))
    iq.append(query)
    await iq.send(timeout=IQ_TIMEOUT)


async def post(client, room: str, text: str, n: int, log: RoomLog) -> None:
    msg = client.make_message(mto=room, mbody=text, mtype="groupchat")
    msg.append(ET.fromstring(f"<note xmlns='{NS_NOTE}' n='{n}'/>"))
    msg.send()
    await log.until(lambda s: kind(s) == "message" and body(s) == text, what=f"echo of {text!r}")


async def mam(client, room: str, after: str | None = None) -> list[tuple[str, datetime, str, str | None, str]]:
    """Every archived message of ROOM (after AFTER): (id, stamp, sender nick,
    body, the <note/>'s n)."""
    rows, last = [], after
    for _ in range(50):
        rsm = {"max": 20}
        if last:
            rsm["after"] = last
        result = await client.plugin["xep_0313"].retrieve(jid=JID(room), rsm=rsm, timeout=IQ_TIMEOUT)
        got = result["mam"]["results"]
        for msg in got:
            forwarded = msg["mam_result"]["forwarded"].xml
            delay = forwarded.find(f"{{{NS_DELAY}}}delay")
            inner = forwarded.find(f"{{{NS_CLIENT}}}message")
            note = inner.find(f"{{{NS_NOTE}}}note")
            rows.append((msg["mam_result"]["id"], parse_stamp(delay.get("stamp")), JID(inner.get("from")).resource,
                         inner.findtext(f"{{{NS_CLIENT}}}body"), None if note is None else note.get("n")))
        fin = result["mam_fin"]
        if fin.xml.get("complete") in ("true", "1") or not got:
            return rows
        last = fin["rsm"]["last"]
    raise AssertionError("MAM paging did not end")


def parse_stamp(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def fill_old_service(old: OldProsody) -> dict:
    """Rooms as real users make them on the old service; returns what its MAM
    shows of each, and their names."""
    coven, hollow = unique_name("coven"), unique_name("hollow")
    coven_jid, hollow_jid = f"{coven}@{OLD_HOST}", f"{hollow}@{OLD_HOST}"
    alice, bob, carol = await old.connect("alice"), await old.connect("bob"), await old.connect("carol")
    try:
        # coven: non-anonymous, hidden, subject by moderators only, then members-only.
        entry = await enter(alice, coven_jid, "Al")
        assert entry.error is None, entry.stanzas
        await configure(alice, coven_jid, {
            "roomname": "The Coven", "roomdesc": "Brooms and cauldrons", "persistentroom": "1",
            "publicroom": "0", "whois": "anyone", "changesubject": "0", "membersonly": "0",
        })
        await set_affiliation(alice, coven_jid, "carol@localhost", "member")
        await register_nick(carol, coven_jid, "Caz")
        await set_affiliation(alice, coven_jid, "bob@localhost", "admin")
        await set_affiliation(alice, coven_jid, "eve@localhost", "outcast", "spam")
        await configure(alice, coven_jid, {"membersonly": "1"})
        alice_log = RoomLog(alice, coven_jid)
        entry = await enter(carol, coven_jid, "Caz")
        assert entry.error is None, entry.stanzas
        alice.send_message(mto=coven_jid, msubject="Brooms at dawn", mtype="groupchat")
        await alice_log.until(lambda s: kind(s) == "message" and subject(s) == "Brooms at dawn", what="subject")
        for i in range(30):
            sender = alice if i % 2 == 0 else carol
            await post(sender, coven_jid, f"coven message {i} <&>", i, alice_log)
        # hollow: semi-anonymous (Prosody's default): no real JIDs recorded.
        bob_log = RoomLog(bob, hollow_jid)
        entry = await enter(bob, hollow_jid, "Bo")
        assert entry.error is None, entry.stanzas
        await configure(bob, hollow_jid, {"persistentroom": "1", "roomname": "Hollow"})
        await set_affiliation(bob, hollow_jid, "eve@localhost", "outcast", "trolling")
        for i in range(3):
            await post(bob, hollow_jid, f"hollow {i}", i, bob_log)
        # gone: destroyed by its owner; Prosody keeps a tombstone of it.
        gone = unique_name("gone")
        gone_jid = f"{gone}@{OLD_HOST}"
        entry = await enter(alice, gone_jid, "Al")
        assert entry.error is None, entry.stanzas
        await configure(alice, gone_jid, {"persistentroom": "1"})
        iq = alice.make_iq_set(ito=gone_jid)
        iq.append(ET.fromstring(f"<query xmlns='{NS_MUC_OWNER}'><destroy><reason>moved</reason></destroy></query>"))
        await iq.send(timeout=IQ_TIMEOUT)
        return {"coven": coven, "hollow": hollow, "gone": gone, "coven_mam": await mam(alice, coven_jid),
                "hollow_mam": await mam(bob, hollow_jid)}
    finally:
        for c in (alice, bob, carol):
            await c.stop()


# ---------------------------------------------------------------------------
# The command

def run_import(bed, config: Path, source: list[str], *extra: str) -> subprocess.CompletedProcess:
    argv = [bed.env["BINARY"], "import", "prosody", "--config", str(config), *source, "--host", OLD_HOST, *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def scratch_config(bed, name: str) -> Path:
    """A copy of instance alt's config with a store of its own."""
    alt = bed.dir / "mixmuc-alt" / "mixmuc.toml"
    folder = bed.dir / name
    folder.mkdir()
    text = re.sub(r'(?m)^url = "sqlite://[^"]*"', f'url = "sqlite://{folder}/mixmuc.db"', alt.read_text())
    assert f"{folder}/mixmuc.db" in text, text
    path = folder / "mixmuc.toml"
    path.write_text(text)
    return path


def said(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


async def check_served(bed, xmpp, old: dict) -> None:
    """The imported rooms as users of mixmuc (instance alt) see them."""
    coven = f"{old['coven']}@{bed.alt.muc}"
    hollow = f"{old['hollow']}@{bed.alt.muc}"
    carol, eve, dave = await xmpp.connect("carol"), await xmpp.connect("eve"), await xmpp.connect("dave")

    info = await carol.plugin["xep_0030"].get_info(jid=coven, timeout=IQ_TIMEOUT, cached=False)
    features = set(info["disco_info"]["features"])
    names = [i[3] for i in info["disco_info"]["identities"]]
    assert "The Coven" in names, names
    for f in ("muc_membersonly", "muc_nonanonymous", "muc_hidden", "muc_persistent"):
        assert f in features, (f, features)

    # The outcast is kept out of the open room too, where only her ban can.
    refused = await enter(eve, hollow, "Eve")
    assert refused.error is not None and error(refused.error)[1] == "forbidden", refused.stanzas
    refused = await enter(eve, coven, "Eve")
    assert refused.error is not None, refused.stanzas
    refused = await enter(dave, coven, "Dave")
    assert refused.error is not None and error(refused.error)[1] == "registration-required", refused.stanzas
    taken = await enter(dave, hollow, "Dave")
    entry = await enter(carol, coven, "Caz")
    assert entry.error is None, entry.stanzas
    assert subject(entry.subject) == "Brooms at dawn"
    assert taken.error is None, taken.stanzas

    want = old["coven_mam"]
    # The history sent on entering: the archive's last messages, with their ids.
    history = [(room_stanza_id(m, coven), body(m)) for m in entry.history]
    assert history and history == [(w[0], w[3]) for w in want[-len(history):]], history
    got = await mam(carol, coven)
    assert len(want) >= 30
    assert got == want, f"mixmuc:\n{got}\nProsody:\n{want}"
    assert {r[2] for r in got} == {"Al", "Caz"}
    # A client that saw the tenth message on the old service asks for what followed.
    assert await mam(carol, coven, after=want[9][0]) == want[10:]
    got = await mam(dave, hollow)
    assert got == old["hollow_mam"] and len(got) == 3, got

    # The same archive in the MIX view of the channel.
    channel = f"{old['coven']}@{bed.alt.mix}"
    mix_client = await xmpp.connect("carol", resource="mix")
    await mix_join_direct(mix_client, channel, "Caz")
    rows = await mam_all(mix_client, channel)
    seen = [(i, m.xml.findtext(f"{{{NS_CLIENT}}}body"), m.xml.findtext("{urn:xmpp:mix:core:1}mix/{urn:xmpp:mix:core:1}nick"))
            for i, m in rows]
    assert seen == [(w[0], w[3], w[2]) for w in want], seen


# ---------------------------------------------------------------------------
# Tests

@pytest.mark.deadline(240)
async def test_import_from_prosody_sql(bed, xmpp):
    folder = bed.dir / unique_name("old-prosody-sql")
    old_prosody = OldProsody(bed, folder, "sql")
    old_prosody.start()
    try:
        old = await fill_old_service(old_prosody)
    finally:
        old_prosody.stop()
    coven, hollow = old["coven"], old["hollow"]
    source = ["--sql", str(old_prosody.sql)]
    config = bed.mixmuc_config("alt")
    n = len(old["coven_mam"]) + len(old["hollow_mam"])

    dry = run_import(bed, config, source, "--dry-run")
    assert dry.returncode == 0, said(dry)
    assert re.search(rf"room {coven}: new, 4 affiliation\(s\), 1 registered nick\(s\), {len(old['coven_mam'])} message\(s\) \({len(old['coven_mam'])} new\)", dry.stdout), said(dry)
    assert f"messages: {n} to add, 0 already there" in dry.stdout, said(dry)
    again = run_import(bed, config, source, "--dry-run")
    assert f"room {coven}: new" in again.stdout, "a dry run wrote something:\n" + said(again)

    first = run_import(bed, config, source)
    assert first.returncode == 0, said(first)
    assert f"messages: {n} added, 0 already there" in first.stdout, said(first)
    assert f"room {old['gone']}: destroyed in Prosody (a tombstone), left out" in first.stdout, said(first)
    assert "0 temporary and 1 destroyed left out" in first.stdout, said(first)
    second = run_import(bed, config, source)
    assert second.returncode == 0, said(second)
    assert f"room {coven}: unchanged" in second.stdout and f"room {hollow}: unchanged" in second.stdout, said(second)
    assert f"messages: 0 added, {n} already there" in second.stdout, said(second)

    bed.mixmuc_start("alt")
    try:
        await check_served(bed, xmpp, old)
    finally:
        bed.mixmuc_stop("alt")

    # A room that mixmuc has with other settings is left alone, unless --overwrite.
    db = sqlite3.connect(bed.dir / "mixmuc-alt" / "mixmuc.db")
    with db:
        db.execute("UPDATE channels SET title = 'Renamed' WHERE name = ?", (coven,))
    db.close()
    kept = run_import(bed, config, source)
    assert kept.returncode != 0 and f"skipped room {coven}: mixmuc has this room with other content (title" in kept.stderr, said(kept)
    replaced = run_import(bed, config, source, "--overwrite")
    assert replaced.returncode == 0 and f"room {coven}: replaced (title" in replaced.stdout, said(replaced)

    # A message that does not parse: its room is skipped, named, with nothing of it
    # written; the other room goes in; the command fails.
    broken = folder / "broken.sqlite"
    shutil.copy(old_prosody.sql, broken)
    bad_id = old["coven_mam"][12][0]
    db = sqlite3.connect(broken)
    with db:
        changed = db.execute("UPDATE prosodyarchive SET value = ? WHERE key = ?",
                             (f"<message from='{coven}@{OLD_HOST}/Al' type='groupchat'><body>cut", bad_id)).rowcount
    db.close()
    assert changed == 1
    scratch = scratch_config(bed, unique_name("scratch-sql"))
    bad = run_import(bed, scratch, ["--sql", str(broken)])
    assert bad.returncode != 0, said(bad)
    assert re.search(rf"skipped room {coven}: archived message {bad_id}: its XML does not parse", bad.stderr), said(bad)
    assert f"room {hollow}: new" in bad.stdout and "1 skipped" in bad.stdout, said(bad)
    db = sqlite3.connect(scratch.parent / "mixmuc.db")
    left = db.execute("SELECT (SELECT COUNT(*) FROM archive WHERE channel = ?), (SELECT COUNT(*) FROM channels WHERE name = ?)",
                      (coven, coven)).fetchone()
    db.close()
    assert left == (0, 0), left


@pytest.mark.deadline(240)
async def test_import_from_prosody_files(bed, xmpp):
    folder = bed.dir / unique_name("old-prosody-files")
    old_prosody = OldProsody(bed, folder, "internal")
    old_prosody.start()
    try:
        old = await fill_old_service(old_prosody)
    finally:
        old_prosody.stop()
    coven, hollow = old["coven"], old["hollow"]
    # The files Prosody wrote are the ones read.
    host_dir = old_prosody.data / "rooms%2elocalhost"
    coven_file = host_dir / "config" / (coven.replace("-", "%2d") + ".dat")
    assert coven_file.is_file() and (host_dir / "muc_log" / (coven.replace("-", "%2d") + ".list")).is_file(), \
        sorted(p.name for p in host_dir.rglob("*"))
    source = ["--data-dir", str(old_prosody.data)]
    config = bed.mixmuc_config("alt")
    n = len(old["coven_mam"]) + len(old["hollow_mam"])

    first = run_import(bed, config, source)
    assert first.returncode == 0, said(first)
    assert f"room {coven}: new, 4 affiliation(s), 1 registered nick(s)" in first.stdout, said(first)
    assert f"messages: {n} added, 0 already there" in first.stdout, said(first)
    second = run_import(bed, config, source)
    assert second.returncode == 0 and f"messages: 0 added, {n} already there" in second.stdout, said(second)

    bed.mixmuc_start("alt")
    try:
        await check_served(bed, xmpp, old)
    finally:
        bed.mixmuc_stop("alt")

    # A truncated room file: that room is skipped and named, the other goes in.
    broken = folder / "broken-data"
    shutil.copytree(old_prosody.data, broken)
    cut = broken / "rooms%2elocalhost" / "config" / coven_file.name
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    (cut.parent / "not a room.dat").write_text("return {};\n")
    scratch = scratch_config(bed, unique_name("scratch-files"))
    bad = run_import(bed, scratch, ["--data-dir", str(broken)])
    assert bad.returncode != 0, said(bad)
    assert re.search(rf"skipped room {coven}: .*{re.escape(cut.name)}: line \d+: .*truncated", bad.stderr), said(bad)
    assert f"room {hollow}: new" in bad.stdout, said(bad)
    assert "not a room.dat: a file name Prosody does not write" in bad.stderr and "2 skipped" in bad.stdout, said(bad)
