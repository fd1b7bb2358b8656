"""The ``notify`` step: a message to a chat webhook, or just to the log.

The message is masked before it leaves: a chat channel is a log too. The webhook URL is shown
by host only, since chat webhook URLs carry their own secret in the path.
"""

from __future__ import annotations

import urllib.parse

import httpx

from app.domain.logs.lines import LineSink
from app.domain.runners.base import (
    NotifyConfig,
    StepContext,
    StepOutcome,
    StepStopped,
    fail,
    guarded,
    option,
    remaining,
)

TIMEOUT_S = 10.0


async def post_json(url: str, payload: dict[str, object]) -> int:
    """POST a chat-style JSON message; the HTTP status (errors raise ``httpx.HTTPError``)."""
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        response = await client.post(url, json=payload)
        return response.status_code


def webhook_host(url: str) -> str:
    """How a webhook URL is shown: its host only (chat webhook URLs carry their secret in the path)."""
    return urllib.parse.urlsplit(url).hostname or "webhook"


class NotifyRunner:
    """Runs ``notify:`` steps (Slack/Mattermost/Rocket.Chat style ``{"text": ...}`` webhooks)."""

    async def run(self, config: NotifyConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        text = out.masker.mask_line(config.message)
        channel = option(config, "channel")
        await out.system(f"notify{f' #{channel}' if channel else ''}: {text}")
        if not config.url:
            return StepOutcome(status="success")
        host = webhook_host(config.url)
        try:
            status = await guarded(post_json(config.url, {"text": text}), ctx, remaining(ctx))
        except StepStopped as stop:
            return await fail(out, f"notification to {host}: {stop.status.replace('_', ' ')}", stop.status)
        except httpx.HTTPError as exc:
            return await fail(out, f"notification to {host} failed: {type(exc).__name__}")
        if status >= 400:
            return await fail(out, f"notification to {host} refused: HTTP {status}")
        await out.system(f"notification sent to {host} -> {status}")
        return StepOutcome(status="success")
