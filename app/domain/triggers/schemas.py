"""Webhook API shapes (CONTRACT §2): the secret in, the forge URLs and the delivery log out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.domain.accounts.schemas import NO_NUL

# GitLab compares the token verbatim, GitHub/Gitea key an HMAC with it: any printable text works,
# but a short secret is guessable, so ask for at least 8 characters.
WebhookSecret = Annotated[str, msgspec.Meta(min_length=8, max_length=500, pattern=NO_NUL)]


class WebhookSecretIn(msgspec.Struct, forbid_unknown_fields=True):
    secret: WebhookSecret


class WebhookUrls(msgspec.Struct):
    github: str
    gitlab: str
    gitea: str


class WebhookOut(msgspec.Struct):
    urls: WebhookUrls
    has_secret: bool


class DeliveryOut(msgspec.Struct):
    id: uuid.UUID
    provider: str
    event: str
    delivery_id: str
    status_code: int
    result: str
    executions: list[uuid.UUID]
    created_at: datetime


class DeliveryReceipt(msgspec.Struct):
    """The answer to the forge: which delivery, which executions it started, and in words what happened."""

    delivery_id: str
    executions: list[uuid.UUID]
    result: str
