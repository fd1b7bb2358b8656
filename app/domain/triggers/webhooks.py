"""Forge webhooks, provider by provider: signature checks and payload parsing into one ForgeEvent.

Pure functions over (headers, raw body): the service decides what to do with the result. Headers
are passed with lower-case names. Signatures are checked on the raw bytes, before any parsing,
and always with ``hmac.compare_digest`` so the time taken reveals nothing about the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

PROVIDERS: Final = ("github", "gitlab", "gitea")
PR_ACTIONS: Final = {
    "github": {"opened", "synchronize", "reopened"},
    "gitea": {"opened", "synchronized", "synchronize", "reopened"},
    "gitlab": {"open", "reopen"},  # plus "update" when it carries new commits (oldrev)
}
_EVENT_HEADERS: Final = {
    "github": ("x-github-event",),
    "gitlab": ("x-gitlab-event",),
    "gitea": ("x-gitea-event", "x-forgejo-event"),
}
_DELIVERY_HEADERS: Final = {
    "github": ("x-github-delivery",),
    "gitlab": ("idempotency-key", "x-gitlab-event-uuid"),  # Idempotency-Key stays the same on retries
    "gitea": ("x-gitea-delivery", "x-forgejo-delivery"),
}
_ZERO_SHA: Final = frozenset("0")


class PayloadError(ValueError):
    """The (authentic) body is not a JSON object we can read."""


class ForgeEvent(msgspec.Struct, frozen=True):
    """What a delivery means for AnsFlow: an event that may start pipelines, or why it does not.

    event is push, pull_request or ping, else the forge's own event name; ignored says why
    nothing starts (None: match pipelines). For a pull request, branch is the target branch
    (what triggers match against) and commit the head (source) commit.
    """

    event: str
    branch: str | None = None
    commit: str | None = None
    repo_url: str | None = None
    ignored: str | None = None
    details: dict[str, str] = {}

    def trigger_info(self) -> dict[str, str]:
        """extra_info for create_execution: commit and repo_url become ANSFLOW_COMMIT / ANSFLOW_REPO_URL."""
        info = {"commit": self.commit, "repo_url": self.repo_url, **self.details}
        return {k: v for k, v in info.items() if v}


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = headers.get(name, "").strip()
        if value:
            return value
    return ""


def event_name(provider: str, headers: Mapping[str, str]) -> str:
    return _header(headers, _EVENT_HEADERS[provider])[:64] or "unknown"


def delivery_id(provider: str, headers: Mapping[str, str]) -> str | None:
    """The forge's id for this delivery (the same on a redelivery), if it sent one."""
    return _header(headers, _DELIVERY_HEADERS[provider])[:200] or None


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def verify(provider: str, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """GitHub: X-Hub-Signature-256 ``sha256=<hex HMAC>``; GitLab: X-Gitlab-Token equals the secret;
    Gitea/Forgejo: X-Gitea-Signature ``<hex HMAC>``. A missing header never verifies."""
    if provider == "github":
        given = headers.get("x-hub-signature-256", "")
        return bool(given) and _same("sha256=" + _hmac_hex(secret, body), given.strip())
    if provider == "gitlab":
        given = headers.get("x-gitlab-token", "")
        return bool(given) and _same(secret, given)
    given = _header(headers, ("x-gitea-signature", "x-forgejo-signature"))
    return bool(given) and _same(_hmac_hex(secret, body), given.lower())


def _text(value: Any) -> str | None:
    """A usable string from the payload (NUL would break PostgreSQL JSON and process environments)."""
    return value if isinstance(value, str) and value and "\x00" not in value else None


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _decode(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """JSON, or GitHub/Gitea's form encoding (``payload=<json>``)."""
    raw = body
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        raw = form.get("payload", [""])[0].encode()
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise PayloadError("the payload is not valid JSON") from exc
    if not isinstance(data, dict):
        raise PayloadError("the payload is not a JSON object")
    return data


def _push(data: dict[str, Any], repo_url: str | None) -> ForgeEvent:
    ref = _text(data.get("ref")) or ""
    commit = _text(data.get("checkout_sha")) or _text(data.get("after"))
    if ref.startswith("refs/tags/"):
        return ForgeEvent("push", ignored=f"tag push ({ref[10:]}): tags do not trigger pipelines")
    if not ref.startswith("refs/heads/") or len(ref) == 11:
        return ForgeEvent("push", ignored=f"push to {ref or 'an unnamed ref'} is not a branch push")
    after = _text(data.get("after")) or ""
    if data.get("deleted") is True or (after and set(after) <= _ZERO_SHA):
        return ForgeEvent("push", branch=ref[11:], ignored=f"branch {ref[11:]!r} was deleted")
    return ForgeEvent("push", branch=ref[11:], commit=commit, repo_url=repo_url)


def _pull_request(action: str, target: str | None, head: str | None, source: str | None, number: Any,
                  repo_url: str | None, actions: set[str]) -> ForgeEvent:
    if action not in actions:
        return ForgeEvent("pull_request", branch=target, ignored=f"pull request action {action!r} does not trigger")
    if target is None:
        return ForgeEvent("pull_request", ignored="pull request without a target branch")
    details = {"source_branch": source or "", "pull_request": str(number) if isinstance(number, int) else ""}
    return ForgeEvent("pull_request", branch=target, commit=head, repo_url=repo_url,
                      details={k: v for k, v in details.items() if v})


def _github_like(provider: str, name: str, data: dict[str, Any]) -> ForgeEvent:
    """GitHub, and Gitea/Forgejo, whose payloads follow GitHub's shape."""
    repo_url = _text(_get(data, "repository.clone_url")) or _text(_get(data, "repository.html_url"))
    if name == "ping":
        return ForgeEvent("ping", ignored="ping: the webhook is reachable and its signature is valid")
    if name == "push":
        return _push(data, repo_url)
    if name == "pull_request":
        pr = data.get("pull_request")
        return _pull_request(
            _text(data.get("action")) or "", _text(_get(pr, "base.ref")), _text(_get(pr, "head.sha")),
            _text(_get(pr, "head.ref")), _get(pr, "number") or data.get("number"), repo_url,
            PR_ACTIONS[provider],
        )
    return ForgeEvent(name, ignored=f"event {name!r} does not trigger pipelines")


def _gitlab(name: str, data: dict[str, Any]) -> ForgeEvent:
    repo_url = _text(_get(data, "project.git_http_url")) or _text(_get(data, "repository.git_http_url"))
    if name == "Push Hook":
        return _push(data, repo_url)
    if name == "Tag Push Hook":
        return ForgeEvent("push", ignored="tag push: tags do not trigger pipelines")
    if name == "Merge Request Hook":
        attrs = data.get("object_attributes")
        action = _text(_get(attrs, "action")) or ""
        actions = set(PR_ACTIONS["gitlab"])
        if action == "update" and _get(attrs, "oldrev"):
            actions.add("update")  # new commits pushed to the merge request
        return _pull_request(
            action, _text(_get(attrs, "target_branch")), _text(_get(attrs, "last_commit.id")),
            _text(_get(attrs, "source_branch")), _get(attrs, "iid"), repo_url, actions,
        )
    return ForgeEvent(name, ignored=f"event {name!r} does not trigger pipelines")


def parse(provider: str, headers: Mapping[str, str], body: bytes) -> ForgeEvent:
    """Turn an authentic delivery into a ForgeEvent; raises PayloadError for an unreadable body."""
    name = event_name(provider, headers)
    data = _decode(headers, body)
    if provider == "gitlab":
        return _gitlab(name, data)
    return _github_like(provider, name, data)
