"""Secret masking and line assembly: values, encodings, and secrets split across reads."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from app.domain.logs.lines import LineAssembler, LineWriter, split_long_line
from app.domain.logs.masking import MASK, SecretMasker

SECRET = "s3cr3t-T0ken-value"


def test_plain_value_is_masked_everywhere_in_a_line() -> None:
    masker = SecretMasker([SECRET])
    assert masker.mask_line(f"token={SECRET} again {SECRET}!") == "token=*** again ***!"


def test_base64_of_the_value_is_masked() -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()
    assert SecretMasker([SECRET]).mask_line(f"echo {encoded} | base64 -d") == "echo *** | base64 -d"


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "x-access-token:"])
def test_secret_inside_a_larger_base64_blob_is_caught_at_every_alignment(prefix: str) -> None:
    blob = base64.b64encode(f"{prefix}{SECRET}@example".encode()).decode()
    masked = SecretMasker([SECRET]).mask_line(f"Authorization: Basic {blob}")
    assert MASK in masked
    assert blob not in masked
    # What is left of the blob no longer decodes to anything containing the secret.
    for word in masked.split():
        for piece in word.split(MASK):
            padded = piece + "=" * (-len(piece) % 4)
            try:
                decoded = base64.b64decode(padded, validate=False)
            except ValueError:
                continue
            assert SECRET.encode() not in decoded


def test_percent_encoded_value_is_masked() -> None:
    secret = "p@ss/w0rd?x"
    url = f"https://user:{urllib.parse.quote(secret, safe='')}@host/"
    assert SecretMasker([secret]).mask_line(url) == "https://user:***@host/"


def test_very_short_values_are_ignored() -> None:
    masker = SecretMasker(["a", "12", ""])
    assert not masker.active
    assert masker.mask_line("a 12 abc") == "a 12 abc"


def test_three_char_value_is_masked() -> None:
    assert SecretMasker(["xyz"]).mask_line("axyzb") == "a***b"


def test_multi_line_secret_is_masked_line_by_line() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAA\n"
        "QyNTUxOQAAACD\n"
        "ab\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    )
    masker = SecretMasker([key])
    assert masker.mask_line("b3BlbnNzaC1rZXktdjEAAAAA") == MASK
    assert masker.mask_line("  QyNTUxOQAAACD") == "  ***"
    assert masker.mask_line("-----END OPENSSH PRIVATE KEY-----") == MASK
    assert masker.mask_line("ab") == "ab"  # a line of the key shorter than 4 chars is not a secret
    assert masker.mask_line(key) == MASK  # the whole value, where text still holds newlines


def test_longest_secret_wins_when_secrets_overlap() -> None:
    masker = SecretMasker(["abcdef", "abcdefghij"])
    assert masker.mask_line("xxabcdefghijyy") == "xx***yy"


def test_split_long_line_keeps_characters_whole() -> None:
    text = "é€😀a" * 30000
    pieces = split_long_line(text, 65536)
    assert len(pieces) > 1
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 65536 for p in pieces)
    assert split_long_line("") == [""]


def test_assembler_splits_on_newlines_across_reads_and_handles_crlf() -> None:
    asm = LineAssembler(SecretMasker([]))
    data = "one\r\ntwo\nthr€e\nbare\rcarriage\nlast".encode()
    out: list[str] = []
    for i in range(0, len(data), 3):  # splits a multibyte character too
        out += asm.feed(data[i : i + 3])
    out += asm.close()
    assert out == ["one", "two", "thr€e", "bare\rcarriage", "last"]


def test_assembler_masks_a_secret_split_across_reads() -> None:
    asm = LineAssembler(SecretMasker([SECRET]))
    data = f"before {SECRET} after\n".encode()
    out: list[str] = []
    for i in range(0, len(data), 5):
        out += asm.feed(data[i : i + 5])
    assert out == ["before *** after"]


def test_secret_across_a_64k_piece_boundary_is_masked_before_splitting() -> None:
    asm = LineAssembler(SecretMasker([SECRET]))
    line = "a" * (65536 - 7) + SECRET + "b" * 1000
    out = asm.feed(line.encode() + b"\nnext\n")
    assert out[-1] == "next"
    pieces = out[:-1]
    assert len(pieces) == 2
    joined = "".join(pieces)
    assert joined == "a" * (65536 - 7) + MASK + "b" * 1000
    assert all(SECRET[:5] not in p and SECRET[-5:] not in p for p in pieces)


def test_unterminated_huge_output_is_flushed_in_pieces_and_still_masked() -> None:
    """A process printing without newlines: bounded memory, and secrets at flush points masked."""
    masker = SecretMasker([SECRET])
    asm = LineAssembler(masker, piece_bytes=64, max_pending_chars=200)
    unit = "x" * 37 + SECRET  # so the secret falls on many different flush/cut positions
    data = (unit * 200).encode()
    out: list[str] = []
    for i in range(0, len(data), 50):
        chunk = asm.feed(data[i : i + 50])
        assert len(asm._parts) <= 1 or sum(map(len, asm._parts)) <= 1000  # bounded buffer
        out += chunk
    out += asm.close()
    assert len(out) > 10
    assert all(len(p.encode()) <= 64 for p in out)
    assert "".join(out) == ("x" * 37 + MASK) * 200


async def test_line_writer_masks_splits_and_serializes() -> None:
    got: list[tuple[str, str]] = []

    async def sink(stream: str, text: str) -> None:
        got.append((stream, text))

    writer = LineWriter(sink, SecretMasker([SECRET]), piece_bytes=16)
    await writer.system(f"using {SECRET}\nsecond line that is long")
    assert got == [
        ("system", "using ***"),
        ("system", "second line that"),
        ("system", " is long"),
    ]
    assert writer.emitted == 3
