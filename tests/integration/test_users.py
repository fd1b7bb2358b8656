"""Admin user management and a user's own account (/auth/me)."""

from __future__ import annotations

import secrets

from tests.support.client import ADMIN, ApiClient


async def test_admin_creates_lists_updates_and_deletes_users(api: ApiClient) -> None:
    admin = await api.admin()
    name = f"crud-{secrets.token_hex(3)}"
    created = await admin.post("/api/v1/users", json={"username": name, "password": "password-123",
                                                       "email": "crud@example.com"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert set(user) == {"id", "username", "email", "is_admin", "is_active", "created_at"}
    assert (user["username"], user["email"], user["is_admin"], user["is_active"]) == (name, "crud@example.com",
                                                                                      False, True)
    assert "password" not in created.text and "hash" not in created.text
    listed = (await admin.get("/api/v1/users", params={"limit": 200})).json()
    assert set(listed) == {"items", "total", "limit", "offset"} and listed["total"] >= 2
    assert name in {u["username"] for u in listed["items"]}
    assert (await admin.get(f"/api/v1/users/{user['id']}")).json() == user
    patched = await admin.patch(f"/api/v1/users/{user['id']}", json={"is_admin": True, "email": None})
    assert patched.status_code == 200 and patched.json()["is_admin"] is True and patched.json()["email"] is None
    assert (await admin.delete(f"/api/v1/users/{user['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/users/{user['id']}")).status_code == 404


async def test_duplicates_and_self_harm_are_conflicts(api: ApiClient) -> None:
    admin = await api.admin()
    duplicate = await admin.post("/api/v1/users", json={"username": ADMIN[0], "password": "password-123"})
    assert duplicate.status_code == 409
    me = (await admin.get("/api/v1/auth/me")).json()
    assert (await admin.delete(f"/api/v1/users/{me['id']}")).status_code == 409
    assert (await admin.patch(f"/api/v1/users/{me['id']}", json={"is_admin": False})).status_code == 409
    assert (await admin.patch(f"/api/v1/users/{me['id']}", json={"is_active": False})).status_code == 409
    assert (await admin.get("/api/v1/auth/me")).json()["is_admin"] is True


async def test_deactivated_users_cannot_log_in(api: ApiClient) -> None:
    admin = await api.admin()
    _, user_id = await api.new_user(admin, "inactive")
    username = (await admin.get(f"/api/v1/users/{user_id}")).json()["username"]
    await admin.patch(f"/api/v1/users/{user_id}", json={"is_active": False})
    login = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "password-123"})
    assert login.status_code == 401
    await admin.patch(f"/api/v1/users/{user_id}", json={"is_active": True})
    login = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "password-123"})
    assert login.status_code == 200
    api.client.cookies.clear()


async def test_admin_sets_a_password(api: ApiClient) -> None:
    admin = await api.admin()
    _, user_id = await api.new_user(admin, "reset")
    username = (await admin.get(f"/api/v1/users/{user_id}")).json()["username"]
    assert (await admin.patch(f"/api/v1/users/{user_id}", json={"password": "brand-new-pw"})).status_code == 200
    assert (await api.as_user(username, "brand-new-pw")).headers


async def test_users_change_their_own_email_and_password(api: ApiClient) -> None:
    admin = await api.admin()
    user, user_id = await api.new_user(admin, "self")
    username = (await admin.get(f"/api/v1/users/{user_id}")).json()["username"]
    wrong = await user.patch("/api/v1/auth/me", json={"current_password": "not-it", "password": "another-pw"})
    assert wrong.status_code == 403
    empty = await user.patch("/api/v1/auth/me", json={"current_password": "password-123"})
    assert empty.status_code == 400
    changed = await user.patch("/api/v1/auth/me", json={"current_password": "password-123",
                                                         "password": "another-pw", "email": "me@example.com"})
    assert changed.status_code == 200 and changed.json()["email"] == "me@example.com"
    old = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "password-123"})
    assert old.status_code == 401
    assert (await api.as_user(username, "another-pw")).headers
    not_admin = await user.patch("/api/v1/auth/me", json={"current_password": "another-pw", "is_admin": True})
    assert not_admin.status_code == 400, "is_admin is not a field of /auth/me"
