"""Secret masking for log lines.

Every line a step prints passes through a :class:`SecretMasker` before it is stored or
published, so a secret value never reaches the database, a WebSocket or ``logs.txt``.

What is masked, for each secret value:

* the value itself;
* its standard base64 form, and the three base64 *alignments* of it (the characters of a
  larger base64 blob that are fully determined by the secret's bytes, for the secret starting
  at byte offset 0, 1 or 2 modulo 3), as GitHub Actions does, so ``base64 user:secret`` or an
  ``Authorization: Basic ...`` header is caught too;
* its percent-encoded form (a secret pasted into a URL);
* for a multi-line value (an SSH key, a certificate) each of its lines of 4+ characters, since
  output is masked line by line and a multi-line value can never sit inside one line.

Values shorter than 3 characters are ignored: masking ``"1"`` or ``"ab"`` would shred every
log line that contains that character sequence, and the pattern of holes would itself tell a
reader what the value is. Derived (base64 alignment) forms shorter than 6 characters are
ignored for the same reason.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_CHARS = 3
MIN_SECRET_LINE_CHARS = 4
MIN_DERIVED_CHARS = 6


def _aligned_base64(raw: bytes) -> set[str]:
    """Base64 characters fully determined by ``raw`` at each of the 3 byte alignments."""
    out: set[str] = set()
    n = len(raw)
    for shift in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0").decode("ascii")
        start = -(-8 * shift // 6)  # ceil: first char not touched by the filler before
        end = (8 * (shift + n)) // 6  # floor: last char not touched by the filler after
        if end - start >= MIN_DERIVED_CHARS:
            out.add(encoded[start:end])
    return out


def _forms(value: str) -> set[str]:
    """All strings to hide for one secret value."""
    if len(value) < MIN_SECRET_CHARS:
        return set()
    raw = value.encode("utf-8", errors="surrogatepass")
    forms = {value, base64.b64encode(raw).decode("ascii")}
    forms |= _aligned_base64(raw)
    quoted = urllib.parse.quote(value, safe="")
    if quoted != value:
        forms.add(quoted)
    if "\n" in value or "\r" in value:
        for line in value.splitlines():
            for candidate in (line, line.strip()):
                if len(candidate) >= MIN_SECRET_LINE_CHARS:
                    forms.add(candidate)
    return {f for f in forms if f}


class SecretMasker:
    """Replaces every known secret form in a line with ``***``.

    Build one per step from all secret values the step can see. ``mask_line`` works on whole
    logical lines; ``safe_cut`` lets a streaming reader that must flush part of an over-long
    line choose a cut point that no secret occurrence straddles.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        patterns: set[str] = set()
        for value in secrets:
            patterns |= _forms(value)
        # Longest first: at one position the regex takes the first alternative that matches.
        ordered = sorted(patterns, key=lambda p: (-len(p), p))
        self._regex: re.Pattern[str] | None = re.compile("|".join(re.escape(p) for p in ordered)) if ordered else None
        self.max_len: int = len(ordered[0]) if ordered else 0

    @property
    def active(self) -> bool:
        """True when there is anything to mask."""
        return self._regex is not None

    def mask_line(self, text: str) -> str:
        """Return ``text`` with every secret form replaced by ``***``."""
        if self._regex is None:
            return text
        return self._regex.sub(MASK, text)

    def safe_cut(self, text: str, cut: int) -> int:
        """Move ``cut`` back so that no secret occurrence in ``text`` crosses it.

        The caller must keep at least ``max_len - 1`` characters after ``cut`` (so that any
        occurrence starting before the cut is complete inside ``text``).
        """
        if self._regex is None or cut <= 0:
            return max(cut, 0)
        for match in self._regex.finditer(text, max(0, cut - self.max_len)):
            if match.start() >= cut:
                break
            if match.end() > cut:
                return match.start()
        return cut
