"""From raw process output to stored log lines: split, decode, mask, cap.

A stored log line is one logical output line (without its newline), masked, and at most
``PIECE_BYTES`` of UTF-8: a longer line is stored as several consecutive pieces that
concatenate back to it. Masking happens on the whole logical line *before* it is cut into
pieces, so a secret lying across a 64 KiB boundary is still caught.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Awaitable, Callable

from app.domain.logs.masking import SecretMasker

PIECE_BYTES = 65536
# A line without newline is buffered up to this many characters before pieces of it are
# flushed, so a process printing gigabytes without "\n" cannot exhaust memory.
MAX_PENDING_CHARS = 1 << 20

LineSink = Callable[[str, str], Awaitable[None]]
"""``await sink(stream, text)``: stream is "stdout", "stderr" or "system"; text has no "\\n"."""


def split_long_line(text: str, limit: int = PIECE_BYTES) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-8 bytes, never inside a character."""
    if limit < 4:
        raise ValueError("limit must be at least 4 bytes (one UTF-8 character)")
    if len(text) * 4 <= limit:
        return [text]
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # continuation byte
            end -= 1
        pieces.append(data[start:end].decode("utf-8", errors="surrogatepass"))
        start = end
    return pieces


class LineAssembler:
    """Incrementally turns a byte stream into masked, size-capped log lines.

    ``feed`` takes whatever bytes a read returned and gives back the finished pieces; ``close``
    gives the unterminated rest. A "\\r\\n" ending counts as "\\n"; other "\\r" are kept.
    """

    def __init__(
        self,
        masker: SecretMasker,
        *,
        piece_bytes: int = PIECE_BYTES,
        max_pending_chars: int = MAX_PENDING_CHARS,
    ) -> None:
        self._masker = masker
        self._piece_bytes = piece_bytes
        # Keep enough unflushed text that any secret occurrence can be seen whole.
        self._max_pending = max(max_pending_chars, 4 * masker.max_len, 2 * piece_bytes)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._size = 0

    def feed(self, data: bytes) -> list[str]:
        """Consume a chunk; return the pieces of every line it completed."""
        return self._take(self._decoder.decode(data))

    def close(self) -> list[str]:
        """End of stream: return the pieces of the last, unterminated line (if any)."""
        out = self._take(self._decoder.decode(b"", final=True))
        if self._parts:
            out.extend(self._finish("".join(self._parts)))
            self._parts.clear()
            self._size = 0
        return out

    def _take(self, text: str) -> list[str]:
        out: list[str] = []
        if "\n" in text:
            lines = text.split("\n")
            self._parts.append(lines[0])
            out.extend(self._finish("".join(self._parts)))
            for line in lines[1:-1]:
                out.extend(self._finish(line))
            rest = lines[-1]
            self._parts = [rest] if rest else []
            self._size = len(rest)
        elif text:
            self._parts.append(text)
            self._size += len(text)
        if self._size > self._max_pending:
            out.extend(self._flush_partial())
        return out

    def _finish(self, line: str) -> list[str]:
        if line.endswith("\r"):
            line = line[:-1]
        return split_long_line(self._masker.mask_line(line), self._piece_bytes)

    def _flush_partial(self) -> list[str]:
        """Emit whole pieces of an over-long unterminated line, keeping a masked-safe tail."""
        text = "".join(self._parts)
        cut = self._masker.safe_cut(text, len(text) - max(self._masker.max_len - 1, 0))
        pieces = split_long_line(self._masker.mask_line(text[:cut]), self._piece_bytes)
        # The last piece is usually short: keep it (already masked) in front of the tail so
        # emitted pieces stay full-sized. Re-masking masked text is harmless.
        keep = pieces.pop() if pieces else ""
        tail = keep + text[cut:]
        self._parts = [tail] if tail else []
        self._size = len(tail)
        return pieces


class LineWriter:
    """The one door from a running step to its sink: masks, splits and serializes lines.

    Both output streams and the runner's own "system" lines go through one writer, so the
    sink is never entered concurrently and sees each stream's lines in order.
    """

    def __init__(self, sink: LineSink, masker: SecretMasker, *, piece_bytes: int = PIECE_BYTES) -> None:
        self._sink = sink
        self.masker = masker
        self.piece_bytes = piece_bytes
        self._lock = asyncio.Lock()
        self.emitted = 0

    def assembler(self, *, max_pending_chars: int = MAX_PENDING_CHARS) -> LineAssembler:
        """A byte-stream assembler using this writer's masker and piece size."""
        return LineAssembler(self.masker, piece_bytes=self.piece_bytes, max_pending_chars=max_pending_chars)

    async def write(self, stream: str, text: str) -> None:
        """Mask ``text`` (which may hold several lines) and send it line by line."""
        masked = self.masker.mask_line(text)
        pieces: list[str] = []
        for line in masked.split("\n"):
            pieces.extend(split_long_line(line.removesuffix("\r"), self.piece_bytes))
        await self.send(stream, pieces)

    async def system(self, text: str) -> None:
        """A line written by AnsFlow itself, not by the step's process."""
        await self.write("system", text)

    async def send(self, stream: str, pieces: list[str]) -> None:
        """Send already masked and split pieces, in order."""
        if not pieces:
            return
        async with self._lock:
            for piece in pieces:
                await self._sink(stream, piece)
                self.emitted += 1
