"""Projects, members and secrets: ownership, visibility, role changes taking effect at once, owners
that cannot disappear, secret values that never come back."""

from __future__ import annotations

import secrets

from tests.support.client import ApiClient


def name(prefix: str = "p") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def test_creator_owns_and_only_members_see(api: ApiClient) -> None:
    admin = await api.admin()
    alice, _ = await api.new_user(admin, "alice")
    bob, bob_id = await api.new_user(admin, "bob")
    created = await alice.post("/api/v1/projects", json={"name": name(), "repository_url": "https://x/r.git"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["role"] == "owner" and project["default_branch"] == "main" and project["description"] == ""
    pid = project["id"]
    assert pid in {p["id"] for p in (await alice.get("/api/v1/projects")).json()["items"]}
    assert pid not in {p["id"] for p in (await bob.get("/api/v1/projects", params={"limit": 200})).json()["items"]}
    assert (await bob.get(f"/api/v1/projects/{pid}")).status_code == 404
    everything = (await admin.get("/api/v1/projects", params={"limit": 200})).json()
    assert pid in {p["id"] for p in everything["items"]}
    await alice.put(f"/api/v1/projects/{pid}/members/{bob_id}", json={"role": "reporter"})
    seen = (await bob.get(f"/api/v1/projects/{pid}")).json()
    assert seen["role"] == "reporter"
    assert {m["role"] for m in (await bob.get(f"/api/v1/projects/{pid}/members")).json()} == {"owner", "reporter"}


async def test_role_changes_and_removal_take_effect_at_once(api: ApiClient) -> None:
    """Roles are cached; every change must invalidate before the next request."""
    admin = await api.admin()
    owner, _ = await api.new_user(admin, "owner")
    dev, dev_id = await api.new_user(admin, "dev")
    pid = (await owner.post("/api/v1/projects", json={"name": name()})).json()["id"]
    assert (await dev.get(f"/api/v1/projects/{pid}")).status_code == 404  # caches "not a member"
    await owner.put(f"/api/v1/projects/{pid}/members/{dev_id}", json={"role": "maintainer"})
    assert (await dev.patch(f"/api/v1/projects/{pid}", json={"description": "ok"})).status_code == 200
    await owner.put(f"/api/v1/projects/{pid}/members/{dev_id}", json={"role": "guest"})
    assert (await dev.patch(f"/api/v1/projects/{pid}", json={"description": "no"})).status_code == 403
    await owner.delete(f"/api/v1/projects/{pid}/members/{dev_id}")
    assert (await dev.get(f"/api/v1/projects/{pid}")).status_code == 404


async def test_owners_are_protected(api: ApiClient) -> None:
    admin = await api.admin()
    owner, owner_id = await api.new_user(admin, "owner")
    maint, maint_id = await api.new_user(admin, "maint")
    _, other_id = await api.new_user(admin, "other")
    pid = (await owner.post("/api/v1/projects", json={"name": name()})).json()["id"]
    members = f"/api/v1/projects/{pid}/members"

    async def put(who: ApiClient, user_id: str, role: str) -> int:
        return (await who.put(f"{members}/{user_id}", json={"role": role})).status_code

    await put(owner, maint_id, "maintainer")
    assert await put(owner, owner_id, "developer") == 409, "the last owner cannot step down"
    assert (await owner.delete(f"{members}/{owner_id}")).status_code == 409, "nor leave"
    assert await put(maint, other_id, "owner") == 403, "only owners grant ownership"
    assert (await maint.delete(f"{members}/{owner_id}")).status_code == 403
    assert await put(maint, other_id, "developer") == 200
    assert await put(owner, other_id, "owner") == 200
    assert await put(owner, owner_id, "developer") == 200, "with another owner it can"
    unknown = await admin.put(f"/api/v1/projects/{pid}/members/00000000-0000-0000-0000-000000000000",
                              json={"role": "guest"})
    assert unknown.status_code == 404


async def test_update_is_partial_and_names_are_unique(api: ApiClient) -> None:
    admin = await api.admin()
    first, second = name(), name()
    pid = (await admin.post("/api/v1/projects", json={"name": first, "description": "keep"})).json()["id"]
    await admin.post("/api/v1/projects", json={"name": second})
    patched = (await admin.patch(f"/api/v1/projects/{pid}", json={"default_branch": "trunk"})).json()
    assert (patched["name"], patched["description"], patched["default_branch"]) == (first, "keep", "trunk")
    assert (await admin.patch(f"/api/v1/projects/{pid}", json={"name": second})).status_code == 409
    assert (await admin.post("/api/v1/projects", json={"name": first})).status_code == 409
    cleared = (await admin.patch(f"/api/v1/projects/{pid}", json={"repository_url": None})).json()
    assert cleared["repository_url"] is None


async def test_secrets_are_listed_by_name_and_never_returned(api: ApiClient) -> None:
    admin = await api.admin()
    pid = (await admin.post("/api/v1/projects", json={"name": name()})).json()["id"]
    first = await admin.put(f"/api/v1/projects/{pid}/secrets/DEPLOY_TOKEN", json={"value": "s3cr3t-one"})
    assert first.status_code == 200 and set(first.json()) == {"name", "created_at", "updated_at"}
    second = await admin.put(f"/api/v1/projects/{pid}/secrets/DEPLOY_TOKEN", json={"value": "s3cr3t-two"})
    assert second.json()["created_at"] == first.json()["created_at"]
    listed = await admin.get(f"/api/v1/projects/{pid}/secrets")
    assert [s["name"] for s in listed.json()] == ["DEPLOY_TOKEN"]
    for text in (first.text, second.text, listed.text, (await admin.get("/api/v1/audit-logs?limit=200")).text):
        assert "s3cr3t" not in text
    assert (await admin.delete(f"/api/v1/projects/{pid}/secrets/DEPLOY_TOKEN")).status_code == 204
    assert (await admin.delete(f"/api/v1/projects/{pid}/secrets/DEPLOY_TOKEN")).status_code == 404


async def test_deleting_a_project_removes_its_members_and_secrets(api: ApiClient) -> None:
    admin = await api.admin()
    member, member_id = await api.new_user(admin, "member")
    pid = (await admin.post("/api/v1/projects", json={"name": name()})).json()["id"]
    await admin.put(f"/api/v1/projects/{pid}/members/{member_id}", json={"role": "developer"})
    await admin.put(f"/api/v1/projects/{pid}/secrets/X", json={"value": "x"})
    assert (await member.get(f"/api/v1/projects/{pid}")).status_code == 200
    assert (await admin.delete(f"/api/v1/projects/{pid}")).status_code == 204
    assert (await member.get(f"/api/v1/projects/{pid}")).status_code == 404
    assert (await admin.get(f"/api/v1/projects/{pid}/members")).status_code == 404
    assert pid not in {p["id"] for p in (await member.get("/api/v1/projects")).json()["items"]}
