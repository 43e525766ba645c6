"""A minimal raw XEP-0114 component for tests: raw XML out, parsed stanzas in.

Unlike slixmpp's ComponentXMPP it adds nothing to what it sends and hides nothing
it receives, so a test controls the exact bytes of each stanza::

    async with RawComponent.connect(host, port, "fanout.localhost", secret) as comp:
        comp.send("<message to='localhost' ...>...</message>")
        stanza = await comp.next()          # an xml.etree Element, or AssertionError
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import xml.etree.ElementTree as ET
from typing import AsyncIterator
from xml.sax.saxutils import quoteattr

NS_STREAM = "http://etherx.jabber.org/streams"
NS_COMPONENT = "jabber:component:accept"


class RawComponent:
    def __init__(self, domain: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.domain = domain
        self._reader = reader
        self._writer = writer
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._root: ET.Element | None = None
        self._depth = 0
        self.stream_id: str | None = None
        self._header = asyncio.get_running_loop().create_future()
        self.stanzas: asyncio.Queue[ET.Element] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, host: str, port: int, domain: str, secret: str,
                      timeout: float = 10) -> AsyncIterator["RawComponent"]:
        """Connect and authenticate as DOMAIN; retried while Prosody still holds the previous link."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            reader, writer = await asyncio.open_connection(host, port)
            comp = cls(domain, reader, writer)
            try:
                await asyncio.wait_for(comp._handshake(secret), timeout)
                break
            except ConflictError:
                await comp.close()
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
            except BaseException:
                await comp.close()
                raise
        try:
            yield comp
        finally:
            await comp.close()

    async def _handshake(self, secret: str) -> None:
        self._write(f"<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' "
                    f"xmlns:stream='{NS_STREAM}' to={quoteattr(self.domain)}>")
        self.stream_id = await self._header
        digest = hashlib.sha1((self.stream_id + secret).encode()).hexdigest()
        self._write(f"<handshake>{digest}</handshake>")
        answer = await self.stanzas.get()
        if answer.tag == f"{{{NS_STREAM}}}error":
            if answer.find("{urn:ietf:params:xml:ns:xmpp-streams}conflict") is not None:
                raise ConflictError(self.domain)
            raise ConnectionError(f"{self.domain}: stream error {ET.tostring(answer).decode()}")
        if answer.tag != f"{{{NS_COMPONENT}}}handshake":
            raise ConnectionError(f"{self.domain}: expected <handshake/>, got {ET.tostring(answer).decode()}")

    async def _read(self) -> None:
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                self._parser.feed(data)
                for event, elem in self._parser.read_events():
                    if event == "start":
                        if self._depth == 0:
                            self._root = elem
                            if not self._header.done():
                                self._header.set_result(elem.get("id"))
                        self._depth += 1
                    else:
                        self._depth -= 1
                        if self._depth == 1:
                            assert self._root is not None
                            self._root.remove(elem)  # keep memory flat on long runs
                            self.stanzas.put_nowait(elem)
        finally:
            if not self._header.done():
                self._header.set_exception(ConnectionError(f"{self.domain}: closed before the stream header"))
            self.stanzas.put_nowait(ET.Element(f"{{{NS_STREAM}}}closed"))

    def _write(self, data: str) -> None:
        self._writer.write(data.encode())

    def send(self, xml: str) -> None:
        """Send one stanza (or several, concatenated) as raw XML."""
        self._write(xml)

    async def drain(self) -> None:
        await self._writer.drain()

    async def next(self, timeout: float = 10) -> ET.Element:
        """The next stanza received; fails after TIMEOUT seconds or when the stream ends."""
        try:
            stanza = await asyncio.wait_for(self.stanzas.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.domain}: no stanza within {timeout}s") from None
        if stanza.tag == f"{{{NS_STREAM}}}closed":
            raise AssertionError(f"{self.domain}: the stream was closed")
        return stanza

    async def close(self) -> None:
        """Close the stream and wait for Prosody to close its side, so the domain is free again."""
        if not self._writer.is_closing():
            with contextlib.suppress(ConnectionError):
                self._write("</stream:stream>")
                await self._writer.drain()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            self._writer.close()
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task


class ConflictError(ConnectionError):
    """Prosody still has a session for this component domain."""
