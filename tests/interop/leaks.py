"""The recorder and the judge of test_leaks.py: who is who, every stanza each
client received, and which real JIDs a recipient may find in them.

* ``Person``: a test user with a distinctive localpart (``leak-<role>-<token>``,
  a random token per scenario) and resource, so that any trace of its real
  JID (bare, full, any case, in a tag, attribute or text, in any namespace),
  or of its resource alone (XEP-0404 anonymises resources), contains one of
  its ``needles``.
* ``Mode``: a JID visibility mode of a channel: the muc#owner fields that
  set it and whose real JID it lets every participant see.
* ``Recorder``: hooks a slixmpp client's ``incoming_filter`` (the raw XML
  element of every stanza, before slixmpp builds a stanza object or runs a
  handler) and its outgoing stanzas; ``expect`` waits for a stanza.
* ``judge``: applies the rule (below) to everything recorded.

The rule. A recipient R who is not a moderator may find in a stanza the real
JID of person P only when one of these holds:

1. P is R (its own JID);
2. the governing mode reveals P: the channel's mode in the phase in which R
   received the stanza, or, for an archived message (MAM result, history,
   anything carrying the channel's stanza-id), the mode in which that
   message was archived;
3. the stanza answers one R sent (type result or error, same id) and P's JID
   was in what R sent (a MAM ``with`` filter, an invitee, an echoed request);
4. P invited R (or declined R's invitation) and the stanza is that
   invitation or decline: XEP-0045 §7.8.2 names the inviter to the invitee,
   XEP-0369 puts the ``<inviter/>`` in the ``<invitation/>`` the inviter
   chose to send;
5. the stanza comes straight from P (``from`` is P's own JID), not from the
   service: P wrote to R itself;
6. the stanza is an unavailable presence from an address R already received
   presence from: the address in its ``from`` tells R nothing new (it takes
   back, after a mode switch, a proxy JID R was shown before), the rest of
   the stanza is judged.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Iterable

from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT

NS_CLIENT = "jabber:client"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MIX_CORE = "urn:xmpp:mix:core:1"
NS_MAM = "urn:xmpp:mam:2"
NS_SID = "urn:xmpp:sid:0"
NS_DELAY = "urn:xmpp:delay"
NS_DATA = "jabber:x:data"
NS_MIX_ANON = "urn:xmpp:mix:anon:0"


# ---------------------------------------------------------------------------
# People and modes

@dataclass(frozen=True)
class Person:
    role: str      # its part in the scenario: "muc_a", "owner2", ...
    user: str      # the account's localpart, leak-<role>-<token>
    jid: str       # bare JID
    resource: str  # its client's resource, leakres-<role>-<token> (XEP-0404 hides resources too)
    view: str      # "muc", "mix", "both" (MIX participant with a MUC session), "none" (never joins)
    moderator: bool = False
    pref: str = "default"  # XEP-0404 JID visibility preference (MIX joiners)

    @property
    def needles(self) -> tuple[str, str]:
        """Lowercased localpart (unique to this run, in every form of its JID) and resource."""
        return self.user.lower(), self.resource.lower()

    def found_in(self, text: str) -> bool:
        return any(n in text for n in self.needles)


@dataclass(frozen=True)
class Mode:
    name: str
    #: muc#roomconfig fields that put a channel in this mode (owner form).
    room_config: dict[str, str]
    #: Whether a participant's real JID is shown to every participant.
    reveals: Callable[[Person], bool]


def new_token() -> str:
    return secrets.token_hex(3)


def register_accounts(bed, users: Iterable[str]) -> None:
    """Create accounts USER@<user domain> (password: the bed's) on the running Prosody."""
    config = bed.dir / "prosody" / "prosody.cfg.lua"
    for user in users:
        proc = subprocess.run(["prosodyctl", "--config", str(config), "register", user, bed.user_domain,
                               bed.password], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"prosodyctl register {user} failed: {proc.stdout}{proc.stderr}")


def preference_form(pref: str) -> str:
    """The XEP-0404 join form asking for a JID visibility preference ('' for the default)."""
    if pref == "default":
        return ""
    return (f"<x xmlns='{NS_DATA}' type='submit'>"
            f"<field var='FORM_TYPE' type='hidden'><value>{NS_MIX_ANON}</value></field>"
            f"<field var='JID Visibility'><value>{pref}</value></field></x>")


# ---------------------------------------------------------------------------
# Reading raw elements

def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def text_of(el: ET.Element, skip_from: bool = False) -> str:
    """Every tag, attribute name and value and text of EL and below, lowercased
    (SKIP_FROM: but EL's own 'from')."""
    parts = []
    for e in el.iter():
        parts.append(e.tag)
        parts.extend(f"{k}={v}" for k, v in e.attrib.items() if not (skip_from and e is el and k == "from"))
        parts.append(e.text or "")
        parts.append(e.tail or "")
    return "\n".join(parts).lower()


def bare(jid: str | None) -> str:
    return (jid or "").partition("/")[0].lower()


def body(el: ET.Element) -> str | None:
    b = el.find(f"{{{NS_CLIENT}}}body")
    return None if b is None else (b.text or "")


def is_invitation(el: ET.Element) -> bool:
    return (el.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}invite") is not None
            or el.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}decline") is not None
            or el.find(f"{{{NS_MIX_CORE}}}invitation") is not None)


def archive_id(el: ET.Element, archives: set[str]) -> str | None:
    """The archive id a message carries: its MAM result id, or its stanza-id by
    one of ARCHIVES (the channel's and the room's bare JIDs)."""
    result = el.find(f"{{{NS_MAM}}}result")
    if result is not None:
        return result.get("id")
    for sid in el.iter(f"{{{NS_SID}}}stanza-id"):
        if bare(sid.get("by")) in archives:
            return sid.get("id")
    return None


def is_live(el: ET.Element) -> bool:
    """A message as it happens: not from an archive (no MAM result, no delay)."""
    return (local(el.tag) == "message" and el.find(f"{{{NS_MAM}}}result") is None
            and el.find(f"{{{NS_DELAY}}}delay") is None)


# ---------------------------------------------------------------------------
# Recording

@dataclass
class Received:
    phase: int
    xml: ET.Element


class Recorder:
    """Everything CLIENT receives, as raw elements tagged with the phase they
    arrived in, and what it sent (by id). Install it before the client connects."""

    def __init__(self, person: Person, client):
        self.person, self.client = person, client
        self.received: list[Received] = []
        self.sent: dict[str, str] = {}
        self.phase = 0
        self._arrived = asyncio.Event()
        inner = client.incoming_filter

        def incoming(xml):
            self.received.append(Received(self.phase, copy.deepcopy(xml)))
            self._arrived.set()
            self._arrived = asyncio.Event()
            return inner(xml)

        client.incoming_filter = incoming
        client.add_filter("out_sync", self._out)

    def _out(self, stanza):
        try:
            if stanza.xml.get("id"):
                self.sent[stanza.xml.get("id")] = text_of(stanza.xml)
        except Exception:  # a filter must never break the client
            pass
        return stanza

    def mark(self) -> int:
        return len(self.received)

    async def expect(self, pred: Callable[[ET.Element], bool], what: str, since: int = 0,
                     timeout: float = IQ_TIMEOUT) -> ET.Element:
        """The first stanza received at or after index SINCE that PRED accepts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = since
        while True:
            while i < len(self.received):
                if pred(self.received[i].xml):
                    return self.received[i].xml
                i += 1
            arrived = self._arrived
            try:
                await asyncio.wait_for(arrived.wait(), max(deadline - loop.time(), 0.01))
            except asyncio.TimeoutError:
                tail = "\n".join(f"  {ET.tostring(r.xml, encoding='unicode')}" for r in self.received[since:][-8:])
                raise AssertionError(f"{self.person.role} ({self.person.jid}): no {what} within {timeout}s; "
                                     f"last received:\n{tail or '  (nothing)'}") from None


# ---------------------------------------------------------------------------
# Judging

@dataclass
class Finding:
    recipient: Person
    shown: Person
    when: str      # the phase it arrived in, and the one it was archived in
    shape: tuple   # the stanza's tag and its children's tags, to tell kinds of leaks apart
    stanza: str

    def __str__(self) -> str:
        return (f"{self.recipient.role} ({self.recipient.jid}) saw the JID or resource of {self.shown.role} "
                f"({self.shown.jid}), {self.when}:\n    {self.stanza}")


def summary(findings: list[Finding], limit: int = 10) -> str:
    """One finding of each shape of stanza (up to LIMIT), and how many there were."""
    first: dict[tuple, Finding] = {}
    counts: dict[tuple, int] = {}
    for f in findings:
        first.setdefault(f.shape, f)
        counts[f.shape] = counts.get(f.shape, 0) + 1
    lines = [f"[{counts[shape]}x] {f}" for shape, f in list(first.items())[:limit]]
    if len(first) > limit:
        lines.append(f"... and {len(first) - limit} more kinds")
    return "\n".join(lines)


@dataclass
class Verdict:
    leaks: list[Finding] = field(default_factory=list)
    #: (phase, recipient's view) -> persons whose JIDs the mode let that view see.
    seen: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    #: Archive ids found in an archive but never seen live (judged as the strictest mode).
    unplaced: set[str] = field(default_factory=set)


def archive_phases(recorders: Iterable[Recorder], archives: set[str]) -> dict[str, int]:
    """Archive id -> the phase in which it was first received live by anyone."""
    phases: dict[str, int] = {}
    for rec in recorders:
        for r in rec.received:
            if is_live(r.xml):
                aid = archive_id(r.xml, archives)
                if aid is not None and (aid not in phases or r.phase < phases[aid]):
                    phases[aid] = r.phase
    return phases


HIDE_ALL = Mode("(archived in an unknown phase: judged as hiding everyone)", {}, lambda p: False)


def judge(recorders: list[Recorder], people: list[Person], modes: list[Mode], archives: set[str],
          invitations: set[tuple[str, str]]) -> Verdict:
    """Apply the rule (module docstring) to every stanza every non-moderator received.

    MODES: the channel's mode in each phase. ARCHIVES: the archive JIDs (the
    channel's and the room's, lowercased). INVITATIONS: (inviter's role,
    invitee's role) of every invitation and decline sent."""
    verdict = Verdict()
    placed = archive_phases(recorders, archives)
    for rec in recorders:
        me = rec.person
        if me.moderator:
            continue
        addresses: set[str] = set()  # senders of the presences received so far
        for r in rec.received:
            sender = (r.xml.get("from") or "").lower()
            is_presence = local(r.xml.tag) == "presence"
            retraction = is_presence and r.xml.get("type") == "unavailable" and sender in addresses
            if is_presence:
                addresses.add(sender)
            text = text_of(r.xml, skip_from=retraction)
            shown = [p for p in people if p is not me and p.found_in(text)]
            if not shown:
                continue
            mode = modes[r.phase]
            when = f"received in phase {r.phase} ({mode.name})"
            aid = archive_id(r.xml, archives) if local(r.xml.tag) == "message" else None
            if aid is not None:
                if aid in placed:
                    mode = modes[placed[aid]]
                    when += f", archived in phase {placed[aid]} ({mode.name})"
                elif not is_live(r.xml):
                    verdict.unplaced.add(aid)
                    mode = HIDE_ALL
                    when += ", archived when nobody saw it (judged as hidden)"
            answer_to = rec.sent.get(r.xml.get("id") or "") if r.xml.get("type") in ("result", "error") else None
            for p in shown:
                if answer_to is not None and p.found_in(answer_to):
                    continue
                if (p.role, me.role) in invitations and is_invitation(r.xml):
                    continue
                if bare(sender) == p.jid.lower():
                    continue
                if mode.reveals(p):
                    verdict.seen.setdefault((r.phase, me.view), set()).add(p.role)
                    continue
                shape = (local(r.xml.tag), r.xml.get("type"), tuple(sorted({c.tag for c in r.xml})))
                verdict.leaks.append(Finding(me, p, when, shape, ET.tostring(r.xml, encoding="unicode")))
    return verdict
