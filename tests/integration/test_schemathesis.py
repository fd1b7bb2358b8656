"""Schema fuzzing: schemathesis drives every foundation operation of the app's own OpenAPI document
(tags auth, users, projects, audit, health) as an administrator, with positive and negative data,
and with real ids for path parameters, and finds no server error and no response that the document
does not describe (status code, content type, headers, body schema).

Bounded: ANSFLOW_FUZZ_EXAMPLES (default 15) examples per operation and mode. Examples are random:
a failure prints the seed to reproduce it (``@seed(...)``). schemathesis and Hypothesis may write
``.hypothesis/`` and ``.schemathesis/`` into the working directory (git-ignored).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import msgspec
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from app.config import Settings
from app.web.asgi import create_app
from tests.support.backends import BackendSet, _cleanup_rabbit
from tests.support.client import ADMIN

FOUNDATION_TAGS = {"auth", "users", "projects", "audit", "health"}
EXAMPLES = int(os.environ.get("ANSFLOW_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, positive_data_acceptance]
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck), print_blob=True,
)


def foundation_operations() -> list[tuple[str, str]]:
    """(method, path) of every foundation operation, read from the document at collection time."""
    doc = create_app(Settings(secret_key="fuzz-collect")).openapi_schema.to_schema()
    return sorted((method.upper(), path) for path, item in doc["paths"].items() for method, op in item.items()
                  if isinstance(op, dict) and set(op.get("tags", [])) & FOUNDATION_TAGS)


@dataclass
class Fuzz:
    schema: Any
    client: Any
    auth: dict[str, str]


@pytest.fixture(scope="module")
def fuzz(backends: BackendSet) -> Iterator[Fuzz]:
    """The app served in-process through schemathesis's ASGI transport, and an admin token.

    On real services the app gets a key prefix of its own: the fuzzer's failed logins must not
    rate-limit the rest of the test session (the test clients all come from one address).
    """
    settings = backends.settings
    if settings.redis_url:
        settings = msgspec.structs.replace(settings, key_prefix=f"{settings.key_prefix}fz{secrets.token_hex(2)}")
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    client = asgi.get_client(app)
    try:
        with client:
            login = client.post("/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
            assert login.status_code == 200, login.text
            created = client.post("/api/v1/auth/tokens", json={"name": "fuzz"},
                                  headers={"X-CSRF-Token": login.json()["csrf_token"]})
            assert created.status_code == 201, created.text
            client.cookies.clear()
            yield Fuzz(schema, client, {"Authorization": f"Bearer {created.json()['token']}"})
    finally:
        asgi.shutdown_lifespans()
        if settings is not backends.settings:
            _cleanup_rabbit(settings)
            r = redis.Redis.from_url(settings.redis_url)
            for found in r.scan_iter(f"{settings.key_prefix}:*", count=1000):
                r.delete(found)
            r.close()


def real_ids(fuzz: Fuzz) -> dict[str, str]:
    """Existing resources for path parameters: a project with a member and a secret, a user, a token.
    Fresh for every operation, since a fuzzed DELETE may remove them."""

    def call(method: str, url: str, body: object) -> dict[str, Any]:
        response = fuzz.client.request(method, url, json=body, headers=fuzz.auth)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    project = call("POST", "/api/v1/projects", {"name": f"fuzz-{secrets.token_hex(5)}"})["id"]
    user = call("POST", "/api/v1/users", {"username": f"fuzz-{secrets.token_hex(4)}", "password": "password-123"})
    call("PUT", f"/api/v1/projects/{project}/members/{user['id']}", {"role": "developer"})
    call("PUT", f"/api/v1/projects/{project}/secrets/FUZZ", {"value": "v"})
    token = call("POST", "/api/v1/auth/tokens", {"name": "fuzz-target"})["id"]  # not the token we fuzz with
    return {"project_id": project, "user_id": user["id"], "name": "FUZZ", "token_id": token}


def run(strategy: Any, fuzz: Fuzz) -> None:
    @given(case=strategy)
    @SETTINGS
    def fuzzed(case: Any) -> None:
        case.call_and_validate(headers=fuzz.auth, checks=CHECKS)

    fuzzed()


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("method", "path"), foundation_operations())
def test_operation_conforms_to_its_schema(fuzz: Fuzz, method: str, path: str) -> None:
    operation = fuzz.schema[path][method]
    run(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), fuzz)
    try:
        run(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), fuzz)
    except hypothesis.errors.Unsatisfiable:  # nothing to get wrong: no parameters, no body
        assert not (len(operation.path_parameters) or len(operation.query) or len(operation.body))
    names = {p.name for p in operation.path_parameters}
    if names:
        ids = {k: v for k, v in real_ids(fuzz).items() if k in names}
        assert ids.keys() == names, f"no real id for {names - ids.keys()}"
        run(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=ids), fuzz)
