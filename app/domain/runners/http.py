"""The ``http`` step: one request (a smoke test, a deploy hook) and a status check.

Logs ``GET url -> 200 (12 ms)`` and the start of the body, so a failing health check shows
what the server said. Redirects are not followed: ``expect_status`` sees the real answer.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from app.domain.logs.lines import LineSink, LineWriter, split_long_line
from app.domain.runners.base import HttpConfig, StepContext, StepOutcome, StepStopped, fail, guarded, option, remaining
from app.domain.runners.credentials import display_url

BODY_LINES = 100
MAX_BODY_BYTES = 256 * 1024
DEFAULT_TIMEOUT_S = 30.0


def _body_kwargs(body: Any) -> dict[str, Any]:
    """httpx arguments for the configured body: text/bytes as is, anything else as JSON."""
    if body is None:
        return {}
    if isinstance(body, str):
        return {"content": body.encode("utf-8")}
    if isinstance(body, bytes | bytearray):
        return {"content": bytes(body)}
    return {"json": body}


async def _request(config: HttpConfig, method: str, timeout_s: float) -> tuple[int, bytes, bool]:
    """(status, first bytes of the body, whether the body was longer)."""
    async with (
        httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
        client.stream(method, config.url, headers=dict(config.headers or {}), **_body_kwargs(config.body)) as response,
    ):
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY_BYTES:
                truncated = True
                break
        return response.status_code, b"".join(chunks)[:MAX_BODY_BYTES], truncated


async def _show_body(out: LineWriter, body: bytes, truncated: bool) -> None:
    lines = body.decode("utf-8", errors="replace").splitlines()
    await out.send("stdout", [p for line in lines[:BODY_LINES] for p in _pieces(out, line)])
    if len(lines) > BODY_LINES or truncated:
        await out.system(f"(body shortened to its first {min(len(lines), BODY_LINES)} lines)")


def _pieces(out: LineWriter, line: str) -> list[str]:
    return split_long_line(out.masker.mask_line(line), out.piece_bytes)


class HttpRunner:
    """Runs ``http:`` steps."""

    async def run(self, config: HttpConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        method = (config.method or "GET").upper()
        label = f"{method} {display_url(config.url)}"
        request_timeout = float(option(config, "timeout", "timeout_s") or DEFAULT_TIMEOUT_S)
        step_left = remaining(ctx)
        started = time.monotonic()
        try:
            status, body, truncated = await guarded(_request(config, method, request_timeout), ctx, step_left)
        except StepStopped as stop:
            why = "cancelled" if stop.status == "cancelled" else f"step timed out after {step_left or 0:g} s"
            return await fail(out, f"{label}: {why}", stop.status)
        except httpx.TimeoutException:
            return await fail(out, f"{label}: no answer within {request_timeout:g} s", "timed_out")
        except httpx.HTTPError as exc:
            return await fail(out, f"{label}: {type(exc).__name__}: {exc}")
        elapsed_ms = round((time.monotonic() - started) * 1000)
        await out.system(f"{label} -> {status} ({elapsed_ms} ms)")
        await _show_body(out, body, truncated)
        expected = list(config.expect_status or [])
        ok = status in expected if expected else 200 <= status < 300
        if not ok:
            wanted = ", ".join(str(s) for s in expected) if expected else "2xx"
            return await fail(out, f"expected status {wanted}, got {status}")
        return StepOutcome(status="success")
