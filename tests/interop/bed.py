"""Test bed and XMPP clients for mixmuc's demo and interop tests.

The processes (a private Prosody and mixmuc instances) are started and stopped by
``scripts/bed`` (shell, ``scripts/lib.sh``); this module only drives that script and
reads the bed's settings from ``DIR/bed.env``. One implementation of process
handling, used by ``scripts/demo``, ``scripts/test`` and pytest alike.

Clients are slixmpp ``ClientXMPP`` objects set up for the loopback, TLS-free
Prosody (see ``Client``). Each keeps a transcript of the stanzas it sent and
received, which the pytest fixtures print when a test fails.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shlex
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.xmlstream import ET

REPO = Path(__file__).resolve().parents[2]
BED_SCRIPT = REPO / "scripts" / "bed"

NS_MIX_CORE = "urn:xmpp:mix:core:1"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MIX_PAM = "urn:xmpp:mix:pam:2"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
FORM_MUC_MIRROR = "urn:xmpp:mix:muc:0#muc-mirror"
FORM_MIX_MIRROR = "urn:xmpp:mix:muc:0#mix-mirror"
FORM_SERVICEINFO = "urn:xmpp:mix:1#serviceinfo"

#: Seconds to wait for one IQ answer before calling it a failure.
IQ_TIMEOUT = 10
#: Seconds to wait for a client to connect, authenticate and bind.
CONNECT_TIMEOUT = 20


class BedError(RuntimeError):
    """A scripts/bed command failed; the message carries its stderr."""


@dataclass(frozen=True)
class Instance:
    """One mixmuc process: its name in the bed and its two domains."""

    name: str
    mix: str
    muc: str


class Bed:
    """A test bed folder managed by scripts/bed."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.dir = Path(directory).resolve()
        self._run("init")
        self.env = parse_env(self.dir / "bed.env")
        self.user_domain = self.env["USER_DOMAIN"]
        self.accounts = self.env["ACCOUNTS"].split()
        self.password = self.env["PASSWORD"]
        self.c2s = ("127.0.0.1", int(self.env["C2S_PORT"]))
        self.conference = self.env["CONFERENCE_DOMAIN"]
        self.main = Instance("main", self.env["MAIN_MIX_DOMAIN"], self.env["MAIN_MUC_DOMAIN"])
        self.alt = Instance("alt", self.env["ALT_MIX_DOMAIN"], self.env["ALT_MUC_DOMAIN"])
        # A test-only external component (no mixmuc behind it), for mod_component_multicast.
        self.fanout = (self.env["FANOUT_DOMAIN"], self.env["FANOUT_SECRET"])
        self.component_port = int(self.env["COMPONENT_PORT"])

    # -- processes -------------------------------------------------------
    def _run(self, cmd: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
        full_env = dict(os.environ)
        full_env.update(env or {})
        argv = ["bash", str(BED_SCRIPT), cmd, str(self.dir), *args]
        try:
            proc = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise BedError(f"{shlex.join(argv)} took more than {timeout}s") from exc
        if proc.returncode != 0:
            raise BedError(f"{shlex.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout

    def up(self) -> None:
        self._run("up")

    def down(self) -> None:
        self._run("down")

    def prosody_start(self) -> None:
        self._run("prosody-start")

    def prosody_stop(self) -> None:
        self._run("prosody-stop")

    def mixmuc_config(self, name: str = "main", *, create_channels: Any = "anyone",
                      admins: Iterable[str] = (), local_domains: Iterable[str] = ("localhost",),
                      store_url: str | None = None, log_filter: str = "info",
                      idle_session_check_secs: int = 900, log_format: str = "text",
                      metrics_listen: str | None = None) -> Path:
        """(Re)write the config of instance NAME; it takes effect at its next start."""
        env = {
            "MM_CREATE_CHANNELS": toml_value(create_channels),
            "MM_ADMINS": toml_value(list(admins)),
            "MM_LOCAL_DOMAINS": toml_value(list(local_domains)),
            "MM_LOG_FILTER": log_filter,
            "MM_LOG_FORMAT": log_format,
            "MM_IDLE_SESSION_CHECK_SECS": str(int(idle_session_check_secs)),
        }
        if metrics_listen:
            env["MM_METRICS_LISTEN"] = metrics_listen
        if store_url:
            env["MM_STORE_URL"] = store_url
        self._run("mixmuc-config", name, env=env)
        return self.dir / f"mixmuc-{name}" / "mixmuc.toml"

    def mixmuc_start(self, name: str = "main", *, wait: bool = True) -> None:
        """Start instance NAME; without WAIT, do not wait for its links (a standby)."""
        self._run("mixmuc-start", name, env=None if wait else {"MM_START_NOWAIT": "1"})

    def mixmuc_stop(self, name: str = "main") -> None:
        self._run("mixmuc-stop", name)

    def mixmuc_restart(self, name: str = "main") -> None:
        self.mixmuc_stop(name)
        self.mixmuc_start(name)

    def mixmuc_pid(self, name: str = "main") -> int:
        return int((self.dir / f"mixmuc-{name}" / "pid").read_text().strip())

    # -- a private PostgreSQL (scripts/lib.sh mm_pg_*) --------------------
    def pg_start(self) -> str:
        """Start (the first time: create) the bed's own PostgreSQL server in
        DIR/postgres (its own port, data and socket folder); returns its URL.
        Fails when the PostgreSQL server binaries are missing."""
        self._run("pg-start")
        return self.pg_url()

    def pg_stop(self, mode: str = "fast") -> None:
        """Stop it by its PID: "fast" (SIGINT: sessions ended, checkpoint) or
        "immediate" (SIGQUIT). Nothing happens when it is not running."""
        self._run("pg-stop", mode)

    def pg_url(self) -> str:
        return self._run("pg-url").strip()

    def pg_log(self) -> Path:
        return self.dir / "postgres" / "postgres.log"

    def mixmuc_log(self, name: str = "main") -> Path:
        return self.dir / f"mixmuc-{name}" / "mixmuc.log"

    def log_offset(self, name: str = "main") -> int:
        """Current size of the instance's log, for wait_link(after=...)."""
        try:
            return self.mixmuc_log(name).stat().st_size
        except FileNotFoundError:
            return 0

    def wait_link(self, name: str = "main", after: int = 0, timeout: float = 60) -> None:
        """Wait until instance NAME logged 'link up' for both its domains past byte AFTER."""
        self._run("mixmuc-wait-link", name, str(after), str(int(timeout)), timeout=timeout + 10)

    def prosody_log(self) -> Path:
        return self.dir / "prosody" / "prosody.log"

    @property
    def has_mix_pam(self) -> bool:
        """Whether the bed's Prosody loads contrib/prosody/mod_mix_pam.lua (XEP-0405)."""
        config = self.dir / "prosody" / "prosody.cfg.lua"
        return config.exists() and '"mix_pam"' in config.read_text()

    @property
    def has_component_multicast(self) -> bool:
        """Whether the bed's Prosody loads contrib/prosody/mod_component_multicast.lua (XEP-0033)."""
        config = self.dir / "prosody" / "prosody.cfg.lua"
        return config.exists() and '"component_multicast"' in config.read_text()

    # -- addresses -------------------------------------------------------
    def jid(self, user: str) -> str:
        return f"{user}@{self.user_domain}"

    # -- clients ---------------------------------------------------------
    async def connect(self, user: str, *, presence: bool = True, resource: str = "test") -> "Client":
        client = Client(f"{self.jid(user)}/{resource}", self.password)
        await client.start(*self.c2s, presence=presence)
        return client


def unique_name(prefix: str) -> str:
    """A channel name no other test uses (the bed's store lives for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def parse_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key] = value.strip().strip("'\"")
    return values


def toml_value(value: Any) -> str:
    """A TOML literal for a string or a list of strings."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


# ---------------------------------------------------------------------------
# Clients

class Client(slixmpp.ClientXMPP):
    """A slixmpp client for the TLS-free loopback Prosody, with a stanza transcript."""

    PLUGINS = (
        "xep_0030",  # service discovery
        "xep_0004",  # data forms
        "xep_0128",  # extended disco info (forms in disco#info)
        "xep_0045",  # MUC
        "xep_0059",  # RSM
        "xep_0060",  # pubsub (MIX nodes)
        "xep_0199",  # ping
        "xep_0203",  # delay
        "xep_0297",  # forwarding
        "xep_0313",  # MAM
        "xep_0359",  # stanza-id
        "xep_0369",  # MIX core (urn:xmpp:mix:core:1)
        "xep_0403",  # MIX presence
        "xep_0404",  # MIX anon
        "xep_0405",  # MIX PAM
        "xep_0421",  # occupant-id
    )

    def __init__(self, jid: str, password: str):
        super().__init__(jid, password)
        self.enable_direct_tls = False
        self.enable_starttls = False
        self.enable_plaintext = True
        for plugin in self.PLUGINS:
            self.register_plugin(plugin)
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.plugin["feature_mechanisms"].unencrypted_scram = True
        self.transcript: collections.deque[str] = collections.deque(maxlen=400)
        self._queues: dict[str, asyncio.Queue] = {}
        self._t0 = time.monotonic()
        self.add_filter("in", self._record_in)
        self.add_filter("out_sync", self._record_out)

    _UNRECORDED = ("{urn:ietf:params:xml:ns:xmpp-sasl}", "{http://etherx.jabber.org/streams}")

    def _record(self, direction: str, stanza):
        if not stanza.xml.tag.startswith(self._UNRECORDED):  # skip auth and stream features
            self.transcript.append(f"{time.monotonic() - self._t0:7.3f} {direction} {stanza}")
        return stanza

    def _record_in(self, stanza):
        return self._record("RECV", stanza)

    def _record_out(self, stanza):
        return self._record("SEND", stanza)

    async def start(self, host: str, port: int, *, presence: bool = True,
                    timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect, authenticate and bind; raise on failure or after TIMEOUT seconds."""
        outcome: asyncio.Future[str] = self.loop.create_future()

        def settle(result: str):
            def handler(_event=None):
                if not outcome.done():
                    outcome.set_result(result)
            return handler

        self.add_event_handler("session_start", settle("ok"))
        self.add_event_handler("failed_all_auth", settle("authentication failed"))
        self.add_event_handler("connection_failed", settle("connection failed"))
        self.add_event_handler("disconnected", settle("disconnected before the session started"))
        self.connect(host, port)
        try:
            result = await asyncio.wait_for(outcome, timeout)
        except asyncio.TimeoutError:
            result = f"no session within {timeout}s"
        if result != "ok":
            self.abort()
            raise ConnectionError(f"{self.boundjid or self.requested_jid}: {result} ({host}:{port})")
        if presence:
            self.send_presence()

    async def stop(self, timeout: float = 5) -> None:
        if self.is_connected():
            try:
                await asyncio.wait_for(self.disconnect(wait=1), timeout)
            except (asyncio.TimeoutError, Exception):
                self.abort()
        else:
            self.abort()

    # -- helpers used by tests and the demo ------------------------------
    def queue(self, event: str) -> asyncio.Queue:
        """Every EVENT (e.g. "mix_message", "groupchat_message") from now on, in order.

        Call it before the action that causes the event, then ``await client.next(EVENT)``.
        """
        if event not in self._queues:
            self._queues[event] = asyncio.Queue()
            self.add_event_handler(event, self._queues[event].put_nowait)
        return self._queues[event]

    async def next(self, event: str, timeout: float = IQ_TIMEOUT):
        """The next EVENT queued by queue(EVENT); fails after TIMEOUT seconds."""
        try:
            return await asyncio.wait_for(self.queue(event).get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.boundjid}: no {event} within {timeout}s") from None

    async def mix_join(self, channel: str, nick: str) -> None:
        """Join a MIX channel the XEP-0405 way: client-join through the user's own server."""
        failed = await self.plugin["xep_0405"].join_channel(JID(channel), nick, timeout=IQ_TIMEOUT)
        if failed:
            raise AssertionError(f"{self.boundjid} joined {channel} but not the nodes {failed}")

    async def mix_leave(self, channel: str) -> None:
        await self.plugin["xep_0405"].leave_channel(JID(channel), timeout=IQ_TIMEOUT)

    async def disco_info(self, jid: str, node: str | None = None) -> "DiscoInfo":
        iq = await self.plugin["xep_0030"].get_info(jid=jid, node=node, timeout=IQ_TIMEOUT, cached=False)
        return DiscoInfo.from_iq(iq)

    async def disco_items(self, jid: str, node: str | None = None) -> list[tuple[str, str | None]]:
        """(jid, name) of each item, every page of them (a service's disco#items
        is paged with XEP-0059: its channels, 100 at a time unless asked)."""
        ns_items, ns_rsm = "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/rsm"
        found, after = [], None
        while True:
            node_attr = f" node='{node}'" if node else ""
            rsm = f"<set xmlns='{ns_rsm}'><max>500</max>" + (f"<after>{after}</after>" if after else "") + "</set>"
            result = await self.raw_iq(jid, "get", f"<query xmlns='{ns_items}'{node_attr}>{rsm}</query>").send(timeout=IQ_TIMEOUT)
            items = result.xml.findall(f"{{{ns_items}}}query/{{{ns_items}}}item")
            found += [(i.get("jid"), i.get("name")) for i in items]
            last = result.xml.find(f"{{{ns_items}}}query/{{{ns_rsm}}}set/{{{ns_rsm}}}last")
            if not items or last is None or len(items) < 500:
                return found
            after = last.text

    async def create_channel(self, mix_domain: str, name: str | None = None) -> str:
        """MIX create (named or, with NAME None, ad hoc); returns the channel name."""
        iq = self.make_iq_set(ito=mix_domain)
        create = ET.SubElement(iq.xml, f"{{{NS_MIX_CORE}}}create")
        if name is not None:
            create.set("channel", name)
        result = await iq.send(timeout=IQ_TIMEOUT)
        answer = result.xml.find(f"{{{NS_MIX_CORE}}}create")
        if answer is None:
            raise AssertionError(f"create result without <create/>: {result}")
        return answer.get("channel")

    async def iq_error(self, iq) -> tuple[str, str]:
        """Send IQ, expect an error; return (error type, condition)."""
        try:
            result = await iq.send(timeout=IQ_TIMEOUT)
        except IqError as err:
            return err.iq["error"]["type"], err.iq["error"]["condition"]
        raise AssertionError(f"expected an error, got: {result}")

    def raw_iq(self, to: str, itype: str, payload_xml: str):
        """An IQ with a raw XML payload, ready to send."""
        iq = self.make_iq(ito=to, itype=itype)
        iq.append(ET.fromstring(payload_xml))
        return iq


@dataclass
class DiscoInfo:
    identities: set[tuple[str, str, str | None]]  # (category, type, name)
    features: set[str]
    forms: dict[str, dict[str, Any]]  # FORM_TYPE -> {var: value}
    xml: str

    @classmethod
    def from_iq(cls, iq) -> "DiscoInfo":
        info = iq["disco_info"]
        identities = {(i[0], i[1], i[3]) for i in info["identities"]}
        forms: dict[str, dict[str, Any]] = {}
        for sub in info.iterables:
            if isinstance(sub, Form):
                values = sub.get_values()
                form_type = values.pop("FORM_TYPE", None)
                if isinstance(form_type, list):
                    form_type = form_type[0] if form_type else None
                forms[form_type] = values
        return cls(identities, set(info["features"]), forms, str(iq))


__all__ = [
    "Bed", "BedError", "Client", "DiscoInfo", "Instance", "IqError", "IqTimeout",
    "NS_MIX_CORE", "NS_MIX_PAM", "NS_MUC", "FORM_MUC_MIRROR", "FORM_MIX_MIRROR", "FORM_SERVICEINFO",
    "IQ_TIMEOUT", "unique_name",
]
