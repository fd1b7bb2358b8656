"""Webhook settings and delivery handling (both backends): who may set the secret and read the log,
redeliveries that never start executions twice (also when they race), ping, ignored events, the
error statuses, the 5 MiB limit and the audit trail."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

import httpx

from tests.support.client import ApiClient
from tests.support.flows import make_pipeline, make_project

PUSH_MAIN = """
triggers:
  push: {branches: [main]}
steps:
  - name: hello
    run: echo hello
"""


def push(branch: str = "main", **extra: Any) -> dict[str, Any]:
    return {"ref": f"refs/heads/{branch}", "after": secrets.token_hex(20),
            "repository": {"clone_url": "https://forge.example/acme/app.git"}, **extra}


async def github(
    api: ApiClient, project: str, secret: str, payload: Any, *, event: str = "push", delivery: str | None = None,
    body: bytes | None = None,
) -> httpx.Response:
    body = body if body is not None else json.dumps(payload).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "X-Hub-Signature-256": f"sha256={mac}", "Content-Type": "application/json"}
    return await api.client.post(f"/api/v1/hooks/github/{project}", content=body, headers=headers)


async def hooked_project(admin: ApiClient) -> tuple[str, str]:
    project = await make_project(admin)
    secret = secrets.token_urlsafe(24)
    response = await admin.put(f"/api/v1/projects/{project}/webhook", json={"secret": secret})
    assert response.status_code == 200, response.text
    return project, secret


async def execution_count(admin: ApiClient, project: str) -> int:
    response = await admin.get("/api/v1/executions", params={"project_id": project})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def deliveries(admin: ApiClient, project: str, **params: Any) -> dict[str, Any]:
    response = await admin.get(f"/api/v1/projects/{project}/webhook/deliveries", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_secret_is_set_by_maintainers_and_never_shown(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    url = f"/api/v1/projects/{project}/webhook"
    before = await admin.get(url)
    assert before.status_code == 200, before.text
    assert before.json() == {
        "urls": {p: f"http://testserver.local/api/v1/hooks/{p}/{project}" for p in ("github", "gitlab", "gitea")},
        "has_secret": False,
    }
    developer, developer_id = await api.new_user(admin, "dev")
    guest, guest_id = await api.new_user(admin, "guest")
    stranger, _ = await api.new_user(admin, "stranger")
    for user_id, role in ((developer_id, "developer"), (guest_id, "guest")):
        member = await admin.put(f"/api/v1/projects/{project}/members/{user_id}", json={"role": role})
        assert member.status_code == 200, member.text
    secret = "s3cret-" + secrets.token_hex(8)
    assert (await developer.put(url, json={"secret": secret})).status_code == 403
    assert (await stranger.put(url, json={"secret": secret})).status_code == 404
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.get(url + "/deliveries")).status_code == 404
    assert (await admin.put(url, json={"secret": "short"})).status_code == 400
    assert (await admin.put(url, json={"secret": secret, "extra": 1})).status_code == 400
    saved = await admin.put(url, json={"secret": secret})
    assert saved.status_code == 200 and saved.json()["has_secret"] is True, saved.text
    seen = await guest.get(url)
    assert seen.status_code == 200 and seen.json()["has_secret"] is True and secret not in seen.text
    assert (await guest.get(url + "/deliveries")).json()["items"] == []
    audit = (await admin.get("/api/v1/audit-logs", params={"action": "webhook.update"})).json()["items"]
    rows = [r for r in audit if r["resource_id"] == project]
    assert len(rows) == 1 and secret not in json.dumps(rows)


async def test_rotating_the_secret_rejects_the_old_one(api: ApiClient) -> None:
    admin = await api.admin()
    project, old = await hooked_project(admin)
    new = secrets.token_urlsafe(24)
    assert (await admin.put(f"/api/v1/projects/{project}/webhook", json={"secret": new})).status_code == 200
    assert (await github(api, project, old, push())).status_code == 401
    assert (await github(api, project, new, push())).status_code == 200


async def test_a_redelivery_never_starts_executions_twice(api: ApiClient) -> None:
    admin = await api.admin()
    project, secret = await hooked_project(admin)
    await make_pipeline(admin, project, PUSH_MAIN)
    payload, delivery = push(), str(uuid.uuid4())
    first = await github(api, project, secret, payload, delivery=delivery)
    assert first.status_code == 202, first.text
    again = await github(api, project, secret, payload, delivery=delivery)
    assert again.status_code == 200, again.text
    assert again.json()["executions"] == first.json()["executions"]
    assert again.json()["result"].startswith(f"ignored: delivery {delivery} was already received")
    assert await execution_count(admin, project) == 1

    racing = str(uuid.uuid4())
    answers = await asyncio.gather(*(github(api, project, secret, push(), delivery=racing) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 202], [r.text for r in answers]
    assert await execution_count(admin, project) == 2
    page = await deliveries(admin, project)
    claimed = [d for d in page["items"] if d["delivery_id"] == racing and d["executions"]]
    assert len(claimed) == 1


async def test_a_bad_signature_cannot_use_up_a_delivery_id(api: ApiClient) -> None:
    admin = await api.admin()
    project, secret = await hooked_project(admin)
    await make_pipeline(admin, project, PUSH_MAIN)
    delivery, payload = str(uuid.uuid4()), push()
    assert (await github(api, project, "not-the-secret", payload, delivery=delivery)).status_code == 401
    genuine = await github(api, project, secret, payload, delivery=delivery)
    assert genuine.status_code == 202 and len(genuine.json()["executions"]) == 1, genuine.text


async def test_ping_tags_deleted_branches_and_other_events_start_nothing(api: ApiClient) -> None:
    admin = await api.admin()
    project, secret = await hooked_project(admin)
    await make_pipeline(admin, project, PUSH_MAIN)
    ping = await github(api, project, secret, {"zen": "Keep it simple.", "hook_id": 1}, event="ping")
    assert ping.status_code == 200 and ping.json()["executions"] == [], ping.text
    tag = await github(api, project, secret, {"ref": "refs/tags/v1.0", "after": secrets.token_hex(20)})
    assert tag.status_code == 200 and "tag" in tag.json()["result"], tag.text
    gone = await github(api, project, secret, push(deleted=True, after="0" * 40))
    assert gone.status_code == 200 and "deleted" in gone.json()["result"], gone.text
    issue = await github(api, project, secret, {"action": "opened"}, event="issues")
    assert issue.status_code == 200 and issue.json()["result"].startswith("ignored: "), issue.text
    assert await execution_count(admin, project) == 0
    page = await deliveries(admin, project, limit=2, offset=1)
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1
    assert [d["event"] for d in page["items"]] == ["push", "push"]
    assert {"id", "provider", "event", "delivery_id", "status_code", "result", "executions", "created_at"} == set(
        page["items"][0])


async def test_error_statuses(api: ApiClient) -> None:
    admin = await api.admin()
    project, secret = await hooked_project(admin)
    bare = await make_project(admin)
    assert (await github(api, str(uuid.uuid4()), secret, push())).status_code == 404
    assert (await github(api, bare, secret, push())).status_code == 404  # no secret set: nothing to check
    unknown = await api.client.post(f"/api/v1/hooks/bitbucket/{project}", content=b"{}")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
    assert (await github(api, project, secret, None, body=b"not json")).status_code == 400
    assert (await github(api, project, secret, None, body=b"[1, 2]")).status_code == 400
    huge = json.dumps(push(padding="x" * (5 * 1024 * 1024))).encode()
    assert (await github(api, project, secret, None, body=huge)).status_code == 413
    assert (await deliveries(admin, bare))["total"] == 0
    statuses = [d["status_code"] for d in (await deliveries(admin, project))["items"]]
    assert statuses == [400, 400]


async def test_deliveries_are_audited_as_the_system(api: ApiClient) -> None:
    admin = await api.admin()
    project, secret = await hooked_project(admin)
    await make_pipeline(admin, project, PUSH_MAIN)
    started = (await github(api, project, secret, push())).json()["executions"]
    assert (await github(api, project, "wrong-secret", push())).status_code == 401
    rows = (await admin.get("/api/v1/audit-logs", params={"action": "webhook.delivery", "limit": 200})).json()
    mine = [r for r in rows["items"] if r["project_id"] == project]
    assert {(r["actor"], r["result"]) for r in mine} == {("system", "success"), ("system", "failure")}
    ok = next(r for r in mine if r["result"] == "success")
    assert ok["detail"]["executions"] == started and ok["detail"]["provider"] == "github"


def test_payload_shapes_each_forge_sends() -> None:
    """Pure parsing: form-encoded GitHub payloads, GitLab merge-request updates, Forgejo headers."""
    from urllib.parse import urlencode

    from app.domain.triggers import webhooks

    form = urlencode({"payload": json.dumps(push("main"))}).encode()
    parsed = webhooks.parse("github", {"x-github-event": "push",
                                       "content-type": "application/x-www-form-urlencoded"}, form)
    assert parsed.event == "push" and parsed.branch == "main" and parsed.ignored is None
    attrs = {"action": "update", "target_branch": "main", "source_branch": "f", "iid": 3, "last_commit": {"id": "c"}}
    mr = {"object_kind": "merge_request", "object_attributes": attrs}
    retitled = webhooks.parse("gitlab", {"x-gitlab-event": "Merge Request Hook"}, json.dumps(mr).encode())
    assert retitled.ignored is not None  # an update without new commits (a title edit)
    mr["object_attributes"] = {**attrs, "oldrev": "b"}
    pushed = webhooks.parse("gitlab", {"x-gitlab-event": "Merge Request Hook"}, json.dumps(mr).encode())
    assert (pushed.event, pushed.branch, pushed.commit, pushed.ignored) == ("pull_request", "main", "c", None)
    assert pushed.trigger_info() == {"commit": "c", "source_branch": "f", "pull_request": "3"}
    body = b'{"ref": "refs/heads/main", "after": "abc"}'
    mac = hmac.new(b"k" * 12, body, hashlib.sha256).hexdigest()
    headers = {"x-forgejo-event": "push", "x-forgejo-signature": mac.upper(), "x-forgejo-delivery": "d-1"}
    assert webhooks.verify("gitea", "k" * 12, headers, body)
    assert webhooks.delivery_id("gitea", headers) == "d-1" and webhooks.parse("gitea", headers, body).branch == "main"
    assert not webhooks.verify("github", "k" * 12, {"x-hub-signature-256": "sha256=" + "é" * 64}, body)
