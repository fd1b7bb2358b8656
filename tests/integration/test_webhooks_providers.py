"""Forge webhooks end to end for each provider (both backends): correctly and wrongly signed pushes
and pull requests through the API, branch globs deciding which pipelines start, and the started
step seeing ANSFLOW_EVENT / BRANCH / COMMIT / REPO_URL in its environment."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.flows import log_text, make_pipeline, make_project, wait_for

REPO = "https://forge.example/acme/app.git"
SHOW = """
triggers:
  push: {branches: [main, "release/*"]}
  pull_request: {branches: [main]}
steps:
  - name: show
    run: echo "seen event=$ANSFLOW_EVENT branch=$ANSFLOW_BRANCH commit=$ANSFLOW_COMMIT repo=$ANSFLOW_REPO_URL"
"""
DEV_ONLY = """
triggers:
  push: {branches: [dev]}
steps:
  - name: never
    run: echo dev
"""
MANUAL_ONLY = """
steps:
  - name: never
    run: echo manual
"""
EVENTS = {
    "github": ("push", "pull_request"),
    "gitlab": ("Push Hook", "Merge Request Hook"),
    "gitea": ("push", "pull_request"),
}
PR_ACTIONS = {"github": ("opened", "closed"), "gitlab": ("open", "close"), "gitea": ("synchronized", "closed")}


class Forge:
    """Builds deliveries the way each forge sends them: headers, signature and payload shape."""

    def __init__(self, provider: str, secret: str) -> None:
        self.provider, self.secret = provider, secret

    def headers(self, event: str, body: bytes, delivery: str | None = None, key: str | None = None) -> dict[str, str]:
        key = key if key is not None else self.secret
        mac = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        delivery = delivery or str(uuid.uuid4())
        base = {"Content-Type": "application/json"}
        if self.provider == "github":
            return {**base, "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": f"sha256={mac}"}
        if self.provider == "gitlab":
            return {**base, "X-Gitlab-Event": event, "Idempotency-Key": delivery, "X-Gitlab-Token": key}
        return {**base, "X-Gitea-Event": event, "X-Gitea-Delivery": delivery, "X-Gitea-Signature": mac}

    def push(self, branch: str, sha: str) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {"ref": f"refs/heads/{branch}", "before": "1" * 40, "after": sha}
        if self.provider == "gitlab":
            payload |= {"object_kind": "push", "checkout_sha": sha, "project": {"git_http_url": REPO}}
        else:
            payload |= {"repository": {"clone_url": REPO}}
        return EVENTS[self.provider][0], payload

    def pull_request(self, action: str, target: str, source: str, sha: str) -> tuple[str, dict[str, Any]]:
        if self.provider == "gitlab":
            attrs = {"action": action, "iid": 7, "target_branch": target, "source_branch": source,
                     "last_commit": {"id": sha}}
            return EVENTS["gitlab"][1], {"object_kind": "merge_request", "object_attributes": attrs,
                                         "project": {"git_http_url": REPO}}
        pr = {"number": 7, "base": {"ref": target}, "head": {"ref": source, "sha": sha}}
        return EVENTS[self.provider][1], {"action": action, "number": 7, "pull_request": pr,
                                          "repository": {"clone_url": REPO}}


async def deliver(
    api: ApiClient, forge: Forge, project: str, event: str, payload: dict[str, Any], *,
    delivery: str | None = None, key: str | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await api.client.post(f"/api/v1/hooks/{forge.provider}/{project}", content=body,
                                 headers=forge.headers(event, body, delivery, key))


async def executions_of(admin: ApiClient, project: str) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/executions", params={"project_id": project, "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def assert_env_seen(admin: ApiClient, execution_id: str, event: str, branch: str, sha: str) -> None:
    done = await wait_for(admin, execution_id)
    assert done["status"] == "success", done
    text = await log_text(admin, execution_id)
    assert f"seen event={event} branch={branch} commit={sha} repo={REPO}" in text, text


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_signed_deliveries_start_the_matching_pipelines(api: ApiClient, provider: str) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    secret = secrets.token_urlsafe(24)
    assert (await admin.put(f"/api/v1/projects/{project}/webhook", json={"secret": secret})).status_code == 200
    show = await make_pipeline(admin, project, SHOW, name="show")
    await make_pipeline(admin, project, DEV_ONLY, name="dev-only")
    await make_pipeline(admin, project, MANUAL_ONLY, name="manual-only")
    forge = Forge(provider, secret)
    push_sha, pr_sha = secrets.token_hex(20), secrets.token_hex(20)

    forged = await deliver(api, forge, project, *forge.push("main", push_sha), key=secret + "x")
    assert forged.status_code == 401, forged.text
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert await executions_of(admin, project) == []

    pushed = await deliver(api, forge, project, *forge.push("release/1.2", push_sha))
    assert pushed.status_code == 202, pushed.text
    started = pushed.json()["executions"]
    assert len(started) == 1 and pushed.json()["result"] == "started 1 execution"
    detail = (await admin.get(f"/api/v1/executions/{started[0]}")).json()
    assert detail["pipeline_id"] == show and detail["trigger"] == "push"
    await assert_env_seen(admin, started[0], "push", "release/1.2", push_sha)

    elsewhere = await deliver(api, forge, project, *forge.push("feature/x", push_sha))
    assert elsewhere.status_code == 200, elsewhere.text
    assert elsewhere.json()["executions"] == [] and elsewhere.json()["result"].startswith("ignored: ")

    opened, closed = PR_ACTIONS[provider]
    pr = await deliver(api, forge, project, *forge.pull_request(opened, "main", "feature/x", pr_sha))
    assert pr.status_code == 202, pr.text
    [pr_execution] = pr.json()["executions"]
    assert (await admin.get(f"/api/v1/executions/{pr_execution}")).json()["trigger"] == "pull_request"
    await assert_env_seen(admin, pr_execution, "pull_request", "main", pr_sha)

    done = await deliver(api, forge, project, *forge.pull_request(closed, "main", "feature/x", pr_sha))
    assert done.status_code == 200 and done.json()["executions"] == [], done.text
    other_target = await deliver(api, forge, project, *forge.pull_request(opened, "develop", "feature/x", pr_sha))
    assert other_target.status_code == 200 and other_target.json()["executions"] == [], other_target.text

    assert {e["id"] for e in await executions_of(admin, project)} == {started[0], pr_execution}
    page = (await admin.get(f"/api/v1/projects/{project}/webhook/deliveries")).json()
    assert page["total"] == 6
    assert [d["status_code"] for d in page["items"]] == [200, 200, 202, 200, 202, 401]
    newest_started = page["items"][2]
    assert newest_started["executions"] == [pr_execution] and newest_started["event"] == "pull_request"
    assert newest_started["provider"] == provider
    assert page["items"][-1]["result"] == "rejected: bad signature"
    assert page["items"][-1]["executions"] == []


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_missing_foreign_and_tampered_signatures_are_rejected(api: ApiClient, provider: str) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    secret = secrets.token_urlsafe(24)
    await admin.put(f"/api/v1/projects/{project}/webhook", json={"secret": secret})
    await make_pipeline(admin, project, SHOW)
    forge = Forge(provider, secret)
    event, payload = forge.push("main", secrets.token_hex(20))
    body = json.dumps(payload).encode()
    url = f"/api/v1/hooks/{provider}/{project}"
    signature = {"github": "X-Hub-Signature-256", "gitlab": "X-Gitlab-Token", "gitea": "X-Gitea-Signature"}[provider]
    unsigned = {k: v for k, v in forge.headers(event, body).items() if k != signature}
    attempts = [(body, unsigned), (body, forge.headers(event, body, key=secrets.token_urlsafe(24)))]
    if provider != "gitlab":  # GitLab sends its token as is; GitHub and Gitea sign the exact bytes
        attempts.append((body.replace(b"main", b"dev"), forge.headers(event, body)))
    for content, headers in attempts:
        response = await api.client.post(url, content=content, headers=headers)
        assert response.status_code == 401, response.text
    assert await executions_of(admin, project) == []
    rows = (await admin.get(f"/api/v1/projects/{project}/webhook/deliveries")).json()["items"]
    assert [r["result"] for r in rows] == ["rejected: bad signature"] * len(attempts)
