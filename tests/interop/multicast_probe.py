"""Measure Prosody's CPU cost of a component's fan-out, with and without
mod_component_multicast (XEP-0033). A measurement, not a test: no assertion on time.

One raw component (fanout.localhost) sends K groupchat messages to N c2s sessions:

* per-recipient: K x N stanzas over the component link (what mixmuc does without multicast);
* multicast:     K stanzas to the VirtualHost, each with N bcc addresses.

The sessions are raw c2s streams (SASL PLAIN, bind) that only count the messages they
receive, so the Python side stays cheap. Prosody's CPU time (utime + stime from
/proc/<pid>/stat) is read before the first stanza and after the last delivery.

    MM_C2S_PORT=26222 MM_COMPONENT_PORT=26347 .venv/bin/python tests/interop/multicast_probe.py \\
        [--sessions 100] [--messages 200] [--rounds 3] [--bed DIR]

It runs its own bed's Prosody (no mixmuc) in DIR (default: a new temporary folder) and
stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bed import Bed  # noqa: E402
from component import RawComponent  # noqa: E402

NS_ADDRESS = "http://jabber.org/protocol/address"
CLK_TCK = os.sysconf("SC_CLK_TCK")
END = b"</message>"
# A MUC message of usual size: body, occupant-id, stanza-id.
PAYLOAD = ("<body>{body}</body><occupant-id xmlns='urn:xmpp:occupant-id:0' id='b2NjdXBhbnQtaWQtZm9yLW5pY2s='/>"
           "<stanza-id xmlns='urn:xmpp:sid:0' by='room@fanout.localhost' id='{sid}'/>")


class Session:
    """A raw c2s session that counts the <message/> stanzas it receives."""

    def __init__(self, reader, writer, jid):
        self.reader, self.writer, self.jid = reader, writer, jid
        self.count = 0
        self.changed = asyncio.Event()
        self._task = None

    @classmethod
    async def open(cls, host, port, domain, user, password, resource) -> "Session":
        reader, writer = await asyncio.open_connection(host, port)
        header = (f"<?xml version='1.0'?><stream:stream to='{domain}' xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        writer.write(header.encode())
        await read_until(reader, b"</stream:features>")
        creds = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        writer.write(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>".encode())
        if b"<success" not in await read_until(reader, b"/>", b"</success>", b"</failure>"):
            raise ConnectionError(f"{user}: authentication failed")
        writer.write(header.encode())
        await read_until(reader, b"</stream:features>")
        writer.write(f"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                     f"<resource>{resource}</resource></bind></iq>".encode())
        answer = await read_until(reader, b"</iq>")
        start = answer.index(b"<jid>") + 5
        session = cls(reader, writer, answer[start:answer.index(b"</jid>")].decode())
        session._task = asyncio.ensure_future(session._count())
        return session

    async def _count(self):
        tail = b""
        while True:
            data = await self.reader.read(262144)
            if not data:
                return
            joined = tail + data
            self.count += joined.count(END)
            tail = joined[-(len(END) - 1):]
            self.changed.set()

    async def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < count:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.jid}: {self.count}/{count} messages")
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def close(self):
        self._task.cancel()
        self.writer.close()


async def read_until(reader, *ends: bytes) -> bytes:
    data = b""
    while not any(end in data for end in ends):
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            raise ConnectionError(f"closed while waiting for {ends}: {data[-200:]!r}")
        data += chunk
    return data


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process PID."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime


def stanzas(mode: str, k: int, jids: list[str], domain: str, round_no: int):
    """The component's stanzas for K messages, in chunks to write."""
    sender = f"room@{domain}/Nick"
    for n in range(k):
        body = PAYLOAD.format(body=f"message {n} of round {round_no}", sid=f"r{round_no}-{n}")
        if mode == "per-recipient":
            yield "".join(f"<message from='{sender}' to='{jid}' type='groupchat' id='m{n}'>{body}</message>"
                          for jid in jids)
        else:
            addresses = "".join(f"<address type='bcc' jid='{jid}'/>" for jid in jids)
            yield (f"<message from='{sender}' to='localhost' type='groupchat' id='m{n}'>"
                   f"<addresses xmlns='{NS_ADDRESS}'>{addresses}</addresses>{body}</message>")


async def measure(bed: Bed, pid: int, sessions: list[Session], mode: str, k: int,
                  round_no: int) -> tuple[float, float]:
    """(user, system) CPU seconds of Prosody per 10,000 delivered stanzas."""
    jids = [s.jid for s in sessions]
    targets = [s.count + k for s in sessions]
    domain, secret = bed.fanout
    async with RawComponent.connect("127.0.0.1", bed.component_port, domain, secret) as comp:
        before = cpu_seconds(pid)
        for chunk in stanzas(mode, k, jids, domain, round_no):
            comp.send(chunk)
            await comp.drain()
        for session, target in zip(sessions, targets):
            await session.wait_for(target, timeout=120)
        after = cpu_seconds(pid)
    scale = 10000 / (k * len(sessions))
    return (after[0] - before[0]) * scale, (after[1] - before[1]) * scale


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200, help="K, messages per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bed", default=None, help="bed folder (default: a new temporary one)")
    args = parser.parse_args()

    bed = Bed(args.bed or tempfile.mkdtemp(prefix="mixmuc-mcprobe-"))
    bed.prosody_start()
    try:
        if not bed.has_component_multicast:
            raise SystemExit("the bed's Prosody does not load mod_component_multicast")
        pid = int((bed.dir / "prosody" / "pid").read_text())
        host, port = bed.c2s
        sessions = [await Session.open(host, port, bed.user_domain, bed.accounts[i % len(bed.accounts)],
                                       bed.password, f"probe{i}") for i in range(args.sessions)]
        results: dict[str, list[tuple[float, float]]] = {"per-recipient": [], "multicast": []}
        for round_no in range(args.rounds):
            for mode in results:
                results[mode].append(await measure(bed, pid, sessions, mode, args.messages, round_no))
        print(f"Prosody 0.12 CPU-seconds per 10,000 delivered stanzas "
              f"({args.sessions} sessions, {args.messages} messages x {args.rounds} rounds per mode):")
        for mode, values in results.items():
            totals = [u + s for u, s in values]
            print(f"  {mode:14} median {statistics.median(totals):.3f} "
                  f"(user {statistics.median(u for u, _ in values):.3f}, "
                  f"system {statistics.median(s for _, s in values):.3f}; "
                  f"rounds: {', '.join(f'{v:.3f}' for v in totals)})")
        for session in sessions:
            await session.close()
    finally:
        bed.prosody_stop()
        print(f"bed folder (logs): {bed.dir}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
