"""The OpenAPI document: every route, request and response schema, and every error documented as a
problem (application/problem+json). Static checks; tests/integration/test_schemathesis.py then
checks the live API against the same document."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.config import Settings
from app.web.asgi import create_app
from tests.support.client import ApiClient

FOUNDATION_TAGS = {"auth", "users", "projects", "audit", "health"}
PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("POST", "/api/v1/auth/login")}
NOT_PROBLEMS = {("GET", "/ready", "503")}  # readiness names what is down in its own shape
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings(secret_key="openapi-test")).openapi_schema.to_schema()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS]


def foundation(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for m, p, op in operations(doc) if set(op.get("tags", [])) & FOUNDATION_TAGS]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


async def test_the_document_is_served(api: ApiClient) -> None:
    response = await api.get("/schema/openapi.json")
    assert response.status_code == 200
    body = response.json()
    assert body["openapi"].startswith("3.1") and body["info"]["title"] == "AnsFlow API"
    assert "/api/v1/projects" in body["paths"]


def test_every_api_route_is_documented(document: dict[str, Any]) -> None:
    app = create_app(Settings(secret_key="openapi-test"))
    documented = {(m, p) for m, p, _ in operations(document)}
    missing = []
    for route in app.routes:
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items():
            if method in {"OPTIONS", "HEAD"} or not handler.resolve_include_in_schema():
                continue
            path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
            if (method, path) not in documented:
                missing.append((method, path))
    assert not missing, missing


def test_operations_are_tagged_and_uniquely_named(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert [m + p for m, p, op in ops if not op.get("tags")] == []
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids))
    assert len(foundation(document)) >= 26, "the foundation's operations went missing from the document"


def test_foundation_errors_are_documented_problems(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in foundation(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or (method, path, status) in NOT_PROBLEMS:
                continue
            content = response.get("content", {})
            schema = content.get("application/problem+json", {}).get("schema", {})
            if set(content) != {"application/problem+json"} or schema.get("$ref") != "#/components/schemas/Problem":
                wrong.append(f"{method} {path} {status}: {sorted(content)}")
    assert not wrong, "error responses must be problem details:\n" + "\n".join(wrong)


def test_foundation_operations_document_their_failures(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in foundation(document):
        codes = set(op["responses"])
        needed = set()
        if (method, path) not in PUBLIC:
            needed.add("401")
        if "{" in path:
            needed.add("404")
        if "requestBody" in op or op.get("parameters"):
            needed.add("400")
        if not needed <= codes:
            missing.append(f"{method} {path}: {sorted(needed - codes)}")
    assert not missing, "\n".join(missing)


def test_foundation_request_bodies_reject_unknown_fields(document: dict[str, Any]) -> None:
    """Inputs are ``forbid_unknown_fields`` Structs; the document must say so (additionalProperties: false)."""
    open_bodies = []
    for method, path, op in foundation(document):
        if "requestBody" not in op:
            continue
        assert op["requestBody"].get("required") is True, (method, path)
        schema = resolve(document, op["requestBody"]["content"]["application/json"]["schema"])
        if schema.get("additionalProperties") is not False:
            open_bodies.append(f"{method} {path}")
    assert not open_bodies, open_bodies


def test_problem_schema_matches_the_contract(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    field_problem = resolve(document, problem["properties"]["errors"]["items"])
    assert set(field_problem["required"]) == {"field", "message"}
