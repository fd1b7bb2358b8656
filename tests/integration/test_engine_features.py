"""Engine features end to end through the API (both backends): retries, timeouts, cancel, approvals,
matrix, retry-from-failed, concurrency, lossless logs, secret masking."""

from __future__ import annotations

import asyncio
import base64
import os
import re
from pathlib import Path

from tests.support.client import ApiClient
from tests.support.flows import (
    execution,
    log_text,
    make_pipeline,
    make_project,
    run,
    steps_by_name,
    wait_for,
    wait_for_step,
)


async def _setup(api: ApiClient, definition: str) -> tuple[ApiClient, str, str]:
    admin = await api.admin()
    project = await make_project(admin)
    return admin, project, await make_pipeline(admin, project, definition)


async def test_flaky_step_succeeds_on_third_attempt(api: ApiClient, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    admin, _, pipeline = await _setup(
        api,
        f"""
steps:
  - name: flaky
    run: |
      n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}
      echo "try $n"; [ "$n" -ge 3 ]
    retries: 2
    retry_delay: 100ms
""",
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert done["status"] == "success"
    assert steps_by_name(done)["flaky"]["attempt"] == 3
    text = await log_text(admin, done["id"])
    assert "attempt 1 of 3" in text and "attempt 3 of 3" in text and "try 3" in text


async def test_timeout_kills_the_whole_process_group(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
steps:
  - name: hang
    run: sh -c 'sleep 300 & echo "child $!"; wait'
    timeout: 1s
""",
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert steps_by_name(done)["hang"]["status"] == "timed_out"
    assert done["status"] == "timed_out"
    child = int(re.search(r"child (\d+)", await log_text(admin, done["id"])).group(1))  # type: ignore[union-attr]
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"child process {child} survived the timeout")


async def test_execution_timeout(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
timeout: 1s
steps:
  - name: slow
    run: sleep 30
""",
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"], timeout=30)
    assert done["status"] == "timed_out"
    assert steps_by_name(done)["slow"]["status"] == "timed_out"


async def test_cancel_running_execution(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
steps:
  - name: long
    run: sleep 120
  - name: after
    run: echo never
""",
    )
    started = await run(admin, pipeline)
    await wait_for_step(admin, started["id"], "long", "running")
    response = await admin.post(f"/api/v1/executions/{started['id']}/cancel")
    assert response.status_code == 202
    done = await wait_for(admin, started["id"], timeout=10)
    steps = steps_by_name(done)
    assert done["status"] == "cancelled"
    assert steps["long"]["status"] == "cancelled" and steps["after"]["status"] == "cancelled"
    again = await admin.post(f"/api/v1/executions/{started['id']}/cancel")
    assert again.status_code == 409


APPROVAL = """
steps:
  - name: build
    run: echo built
  - name: gate
    approval: {role: maintainer}
  - name: deploy
    run: echo deployed
"""


async def test_approval_approved_and_rejected(api: ApiClient) -> None:
    admin, project, pipeline = await _setup(api, APPROVAL)
    developer, developer_id = await api.new_user(admin, "dev")
    await admin.put(f"/api/v1/projects/{project}/members/{developer_id}", json={"role": "developer"})
    first = await run(admin, pipeline)
    waiting = await wait_for(admin, first["id"], {"waiting_approval"})
    assert steps_by_name(waiting)["gate"]["status"] == "waiting_approval"
    denied = await developer.post(f"/api/v1/executions/{first['id']}/steps/gate/approve", json={})
    assert denied.status_code == 403
    ok = await admin.post(f"/api/v1/executions/{first['id']}/steps/gate/approve", json={"comment": "ship it"})
    assert ok.status_code == 200, ok.text
    done = await wait_for(admin, first["id"])
    assert done["status"] == "success"
    gate = steps_by_name(done)["gate"]
    assert gate["approval"]["decided_by"] == "admin" and gate["approval"]["comment"] == "ship it"
    second = await run(admin, pipeline)
    await wait_for(admin, second["id"], {"waiting_approval"})
    rejected = await admin.post(f"/api/v1/executions/{second['id']}/steps/gate/reject", json={"comment": "no"})
    assert rejected.status_code == 200
    done = await wait_for(admin, second["id"])
    assert done["status"] == "failed"
    assert steps_by_name(done)["deploy"]["status"] == "skipped"
    audit = await admin.get("/api/v1/audit-logs", params={"action": "step.reject"})
    assert audit.json()["total"] >= 1


async def test_approval_timeout_rejects(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(api, "steps:\n  - name: gate\n    approval: {timeout: 1s}\n")
    done = await wait_for(admin, (await run(admin, pipeline))["id"], timeout=20)
    assert done["status"] == "failed"
    assert steps_by_name(done)["gate"]["message"] == "approval timed out"


async def test_matrix_expansion_runs_each_combination(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
steps:
  - name: unit
    run: echo "py=$PY os=$OS"
    matrix: {PY: ["3.11", "3.12"], OS: [linux]}
  - name: after
    run: echo after
""",
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    steps = steps_by_name(done)
    assert set(steps) == {"unit[PY=3.11,OS=linux]", "unit[PY=3.12,OS=linux]", "after"}
    assert steps["after"]["needs"] == ["unit[PY=3.11,OS=linux]", "unit[PY=3.12,OS=linux]"]
    text = await log_text(admin, done["id"])
    assert "py=3.11 os=linux" in text and "py=3.12 os=linux" in text


async def test_retry_from_failed_reuses_succeeded_steps(api: ApiClient, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    admin, _, pipeline = await _setup(
        api,
        f"""
steps:
  - name: build
    run: echo artifact-$RANDOM > artifact.txt
  - name: test
    run: test -f {flag}
""",
    )
    first = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert first["status"] == "failed"
    flag.write_text("ok")
    retried = await admin.post(f"/api/v1/executions/{first['id']}/retry", json={"from": "failed"})
    assert retried.status_code == 201, retried.text
    done = await wait_for(admin, retried.json()["id"])
    steps = steps_by_name(done)
    assert done["status"] == "success" and done["retry_of"] == first["id"]
    assert steps["build"]["reused"] is True and steps["build"]["status"] == "success"
    assert steps["test"]["reused"] is False and steps["test"]["attempt"] == 1
    text = await log_text(admin, done["id"])
    assert "step build: attempt" not in text  # not run again
    assert "workspace copied" in text


async def test_concurrency_one_queues_the_second_run(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
concurrency: 1
steps:
  - name: work
    run: sleep 1.5
""",
    )
    first = await run(admin, pipeline)
    await wait_for(admin, first["id"], {"running"})
    second = await run(admin, pipeline)
    for _ in range(50):
        queued = await execution(admin, second["id"])
        if queued["queue_reason"] and "running execution" in queued["queue_reason"]:
            break
        await asyncio.sleep(0.1)
    assert queued["status"] == "queued" and queued["queue_position"] is not None
    assert queued["queue_reason"] == "waiting for 1 running execution of this pipeline"
    done_first = await wait_for(admin, first["id"])
    done_second = await wait_for(admin, second["id"])
    assert done_second["status"] == "success"
    assert done_second["started_at"] >= done_first["finished_at"]


async def test_hundred_thousand_lines_are_gap_free_and_byte_identical(api: ApiClient, tmp_path: Path) -> None:
    admin, _, pipeline = await _setup(
        api,
        """
steps:
  - name: spew
    run: python3 -c "import sys; [sys.stdout.write(f'line {i} \\u00e9 ' + 'x' * (i % 50) + '\\n') for i in range(100000)]"
""",  # noqa: E501 (a pipeline's shell line)
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"], timeout=120)
    assert done["status"] == "success"
    seqs: list[int] = []
    printed: list[str] = []
    after = 0
    while True:
        page = (
            await admin.get(f"/api/v1/executions/{done['id']}/logs", params={"after_seq": after, "limit": 5000})
        ).json()
        if not page["lines"]:
            break
        seqs.extend(line["seq"] for line in page["lines"])
        printed.extend(line["text"] for line in page["lines"] if line["stream"] == "stdout")
        after = page["next_seq"]
    assert seqs == list(range(1, len(seqs) + 1))
    expected = [f"line {i} \u00e9 " + "x" * (i % 50) for i in range(100000)]
    assert printed == expected
    text = await log_text(admin, done["id"])
    stdout_lines = [line for line in text.split("\n") if line.startswith("line ")]
    assert "\n".join(stdout_lines).encode() == "\n".join(expected).encode()


async def test_secrets_are_masked_including_base64_and_split_reads(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    secret = "s3cr3t-value-" + "z" * 40
    put = await admin.put(f"/api/v1/projects/{project}/secrets/DEPLOY_TOKEN", json={"value": secret})
    assert put.status_code == 200, put.text
    pipeline = await make_pipeline(
        admin,
        project,
        """
secrets: [DEPLOY_TOKEN]
steps:
  - name: leak
    run: |
      echo "plain $DEPLOY_TOKEN"
      printf '%s' "$DEPLOY_TOKEN" | base64 -w0; echo
      python3 -c "import os,sys,time; t=os.environ['DEPLOY_TOKEN']; sys.stdout.write('split ' + t[:7]); sys.stdout.flush(); time.sleep(0.3); sys.stdout.write(t[7:] + '\\n')"
""",  # noqa: E501 (a pipeline's shell line)
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert done["status"] == "success"
    text = await log_text(admin, done["id"])
    assert secret not in text
    assert base64.b64encode(secret.encode()).decode() not in text
    assert "plain ***" in text and "split ***" in text
    listed = await admin.get(f"/api/v1/projects/{project}/secrets")
    assert secret not in listed.text


async def test_invalid_yaml_reports_every_error_with_its_line(api: ApiClient) -> None:
    admin = await api.admin()
    response = await admin.post(
        "/api/v1/pipelines/validate",
        json={
            "definition": """steps:
  - name: a
    run: echo a
    needs: [ghost]
  - name: a
    run: echo dup
  - name: b
    bogus: 1
    run: echo b
    timeout: forever
"""
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    lines = {(e["line"], e["message"].split(":")[0]) for e in body["errors"]}
    assert len(body["errors"]) >= 4
    assert all(e["line"] is not None for e in body["errors"])
    assert any(line == 4 for line, _ in lines)  # unknown need
    assert any(line == 5 for line, _ in lines)  # duplicate name
    assert any(line == 8 for line, _ in lines)  # unknown key
    assert any(line == 10 for line, _ in lines)  # bad duration
    project = await make_project(admin)
    rejected = await admin.post(f"/api/v1/projects/{project}/pipelines", json={"name": "bad", "definition": "steps: 3"})
    assert rejected.status_code == 400
    assert rejected.json()["errors"][0]["field"].startswith("definition")


async def test_editing_a_pipeline_never_alters_past_executions(api: ApiClient) -> None:
    admin, _, pipeline = await _setup(api, "steps:\n  - name: v1\n    run: echo one\n")
    first = await wait_for(admin, (await run(admin, pipeline))["id"])
    updated = await admin.put(
        f"/api/v1/pipelines/{pipeline}", json={"definition": "steps:\n  - name: v2\n    run: echo two\n"}
    )
    assert updated.json()["version"] == 2
    versions = (await admin.get(f"/api/v1/pipelines/{pipeline}/versions")).json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    old = await execution(admin, first["id"])
    assert old["pipeline_version"] == 1 and [s["name"] for s in old["steps"]] == ["v1"]
    second = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert second["pipeline_version"] == 2 and second["number"] == 2
