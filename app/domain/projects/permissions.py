"""Who may do what in a project: one pure function, guards and services only ask it."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

ROLES: Final = ("guest", "reporter", "developer", "maintainer", "owner")
RANK: Final = {role: i for i, role in enumerate(ROLES)}


class Action(StrEnum):
    READ = "read"                      # see the project, its pipelines, executions, logs
    RUN = "run"                        # start, cancel and retry executions
    EDIT = "edit"                      # pipelines, secrets, credentials, webhook settings
    UPDATE_PROJECT = "update_project"
    MANAGE_MEMBERS = "manage_members"
    READ_AUDIT = "read_audit"
    DELETE_PROJECT = "delete_project"


REQUIRED_ROLE: Final[dict[Action, str]] = {
    Action.READ: "guest",
    Action.RUN: "developer",
    Action.EDIT: "maintainer",
    Action.UPDATE_PROJECT: "maintainer",
    Action.MANAGE_MEMBERS: "maintainer",
    Action.READ_AUDIT: "owner",
    Action.DELETE_PROJECT: "owner",
}


def role_at_least(role: str | None, required: str) -> bool:
    return role is not None and RANK.get(role, -1) >= RANK[required]


def can(role: str | None, is_admin: bool, action: Action) -> bool:
    """``role`` is the user's membership role in the project, None when not a member."""
    return is_admin or role_at_least(role, REQUIRED_ROLE[action])


def can_assign(actor_role: str | None, is_admin: bool, current: str | None, new: str | None) -> bool:
    """Maintainers manage members below owner; only owners (and admins) grant or remove owner."""
    if is_admin or actor_role == "owner":
        return True
    if not can(actor_role, is_admin, Action.MANAGE_MEMBERS):
        return False
    return "owner" not in (current, new)
