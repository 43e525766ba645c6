"""mixmuc under a service manager (contrib/systemd/mixmuc.service, Type=notify):
the notices it sends to $NOTIFY_SOCKET (src/notify.rs), here received by the
test itself on a Unix datagram socket, as systemd would.

* READY=1 comes once both links (MIX and MUC) have completed their handshake
  with the real Prosody, not before; STOPPING=1 at SIGTERM, then exit 0.
* With a secret the server refuses, READY=1 never comes and mixmuc exits
  non-zero, so that `systemctl start` fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def notices(sock: socket.socket, until: str, timeout: float) -> list[str]:
    """Datagrams received until one contains UNTIL (or the time is up)."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1].splitlines():
            break
    return got


class Notified:
    """mixmuc instance "alt" started by hand with NOTIFY_SOCKET set."""

    def __init__(self, bed, config: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="mixmuc-notify-"))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.dir / "notify"))
        self.log = self.dir / "mixmuc.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIXMUC_")}
        env.update(NOTIFY_SOCKET=str(self.dir / "notify"), NO_COLOR="1")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([bed.env["BINARY"], "serve", "--config", str(config)],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        """Stops it if still running; removes the socket and the log (the
        assertions above quote the log when they fail)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notified(bed):
    started: list[Notified] = []

    def start(secret: str | None = None) -> Notified:
        config = bed.mixmuc_config("alt")
        if secret is not None:
            text = config.read_text()
            text = re.sub(r'(\[mix\][^\[]*secret = )"[^"]*"', rf'\1"{secret}"', text)
            config.write_text(text)
        n = Notified(bed, config)
        started.append(n)
        return n

    yield start
    for n in started:
        n.close()


def test_ready_once_both_links_are_up_stopping_at_sigterm(bed, notified):
    n = notified()
    got = notices(n.sock, "READY=1", 30)
    log = n.log_text()
    assert any("READY=1" in g.splitlines() for g in got), f"no READY=1; notices {got}\n{log}"
    # Both links were up when READY=1 was sent: its log line comes after both "link up".
    lines = log.splitlines()
    ready_at = next(i for i, line in enumerate(lines) if "both links up: ready" in line)
    for domain in (bed.alt.mix, bed.alt.muc):
        assert any("link up" in line and domain in line for line in lines[:ready_at]), f"{domain} not up before READY\n{log}"
    # Every notice before READY=1 said a link was still connecting.
    before = [g for g in got if "READY=1" not in g.splitlines()]
    assert all("connecting" in g for g in before), got
    ready = next(g for g in got if "READY=1" in g.splitlines())
    assert f"STATUS={bed.alt.mix} up, {bed.alt.muc} up" in ready.splitlines(), ready

    n.proc.send_signal(signal.SIGTERM)
    stopping = notices(n.sock, "STOPPING=1", 10)
    assert any("STOPPING=1" in g.splitlines() for g in stopping), f"no STOPPING=1; notices {stopping}\n{n.log_text()}"
    assert n.proc.wait(10) == 0, n.log_text()


def test_refused_secret_never_ready_exits_non_zero(bed, notified):
    n = notified(secret="not-the-secret")
    code = n.proc.wait(30)
    got = notices(n.sock, "READY=1", 0.2)
    assert code != 0, n.log_text()
    assert not any("READY=1" in g.splitlines() for g in got), got
    assert bed.alt.mix in n.log_text() and "refused the component secret" in n.log_text(), n.log_text()
