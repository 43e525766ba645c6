"""Fixtures for the interop tests: a real Prosody, a real mixmuc, real slixmpp clients.

* ``bed`` (session): a private Prosody on 127.0.0.1 (c2s 25222, components 25347) and
  the mixmuc instance "main" (mix.localhost + muc.localhost, SQLite store), started by
  scripts/bed in ``$MM_BED_DIR`` (or a new temporary folder) and stopped at the end.
  The binary is ``$MM_BIN`` or target/debug/mixmuc (build it first).
* ``xmpp`` (function): ``await xmpp.connect("alice")`` gives a connected, bound
  ``bed.Client`` for a test account (alice, bob, carol, dave, eve, admin; password
  "pass"); every client is disconnected after the test and, if the test failed, its
  stanza transcript is printed.
* ``mix_pam`` (function): skips the test unless Prosody runs contrib's mod_mix_pam, so
  clients can join channels the XEP-0405 way (``await client.mix_join(channel, nick)``).
* ``alt_instance`` (function): ``with alt_instance(create_channels=[...]) as inst:``
  runs the second mixmuc instance "alt" (mix2.localhost + muc2.localhost) with another
  config, for tests about settings.

Async tests (``async def test_...``) run on a fresh event loop each, with a hard time
limit (60 s, or ``@pytest.mark.deadline(S)``), so no test hangs forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bed import Bed, Client, Instance  # noqa: E402

DEFAULT_DEADLINE = 60


def pytest_configure(config):
    # SIGTERM (e.g. from `timeout`) ends the run like Ctrl-C, so the bed is still torn down.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(scope="session")
def bed():
    directory = os.environ.get("MM_BED_DIR") or tempfile.mkdtemp(prefix="mixmuc-interop-")
    the_bed = Bed(directory)
    try:
        the_bed.up()
        yield the_bed
    finally:
        the_bed.down()
        sys.stderr.write(f"\n[interop] bed folder (logs): {the_bed.dir}\n")


class Clients:
    """Connected clients of one test; all disconnected when the test ends."""

    def __init__(self, the_bed: Bed):
        self.bed = the_bed
        self.clients: list[Client] = []

    async def connect(self, user: str, *, presence: bool = True, resource: str | None = None) -> Client:
        resource = resource or f"test{len(self.clients)}"
        client = Client(f"{self.bed.jid(user)}/{resource}", self.bed.password)
        self.clients.append(client)
        await client.start(*self.bed.c2s, presence=presence)
        return client

    async def close_all(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients), return_exceptions=True)

    def transcripts(self) -> str:
        parts = []
        for client in self.clients:
            parts.append(f"--- {client.requested_jid}")
            parts.extend(client.transcript)
        return "\n".join(parts)


@pytest.fixture
def _event_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def xmpp(bed, _event_loop):
    clients = Clients(bed)
    yield clients
    _event_loop.run_until_complete(clients.close_all())


@pytest.fixture
def mix_pam(bed):
    """Skips the test unless the bed's Prosody runs mod_mix_pam (the MIX participant's server)."""
    if not bed.has_mix_pam:
        pytest.skip("contrib/prosody/mod_mix_pam.lua is not there")
    return True


@pytest.fixture
def alt_instance(bed):
    """Context manager running mixmuc instance "alt" with the given config."""
    running = []

    @contextlib.contextmanager
    def run(**config):
        bed.mixmuc_config("alt", **config)
        bed.mixmuc_start("alt")
        running.append(True)
        try:
            yield Instance("alt", bed.alt.mix, bed.alt.muc)
        finally:
            bed.mixmuc_stop("alt")
            running.pop()

    yield run
    if running:
        bed.mixmuc_stop("alt")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests on the test's own loop, within their deadline."""
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    loop = pyfuncitem.funcargs.get("_event_loop")
    if loop is None:
        raise RuntimeError("async test without the _event_loop fixture")
    marker = pyfuncitem.get_closest_marker("deadline")
    deadline = marker.args[0] if marker else DEFAULT_DEADLINE
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    task = loop.create_task(func(**kwargs))
    done, _ = loop.run_until_complete(asyncio.wait({task}, timeout=deadline))
    if not done:
        task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        pytest.fail(f"test did not finish within its {deadline}s deadline", pytrace=False)
    task.result()
    return True


def pytest_collection_modifyitems(items):
    # Every async test gets its own event loop.
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "obj", None)) and "_event_loop" not in item.fixturenames:
            item.fixturenames.insert(0, "_event_loop")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the stanzas its clients sent and received."""
    report = yield
    clients = getattr(item, "funcargs", {}).get("xmpp")
    if report.when == "call" and report.failed and isinstance(clients, Clients) and clients.clients:
        report.sections.append(("xmpp transcript", clients.transcripts()))
    return report
