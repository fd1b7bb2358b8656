"""Command line: ``python -m app.cli demo | migrate | openapi FILE | create-user NAME PASSWORD [--admin]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import select

from app.config import ConfigError, Settings
from app.db.migrate import upgrade
from app.domain.accounts.principal import Principal

DEMO_PROJECT = "demo"
DEMO_PIPELINES = {
    "hello": """\
# A tour of AnsFlow's pipeline features: parallel steps, a matrix, conditions and retries.
priority: normal
timeout: 10m
variables: {GREETING: hello}
steps:
  - name: prepare
    run: |
      echo "$GREETING from execution $ANSFLOW_EXECUTION_NUMBER"
      mkdir -p build && date -u > build/started
  - name: test
    run: ["echo testing on python $PY", "sleep 1", "echo ok"]
    needs: [prepare]
    matrix: {PY: ["3.11", "3.12"]}
  - name: lint
    run: [echo linting, sleep 1]
    needs: [prepare]
  - name: package
    run: tar czf build.tgz build && ls -l build.tgz
    needs: [test, lint]
  - name: report-failure
    run: echo "something failed upstream"
    needs: [package]
    when: {status: failure}
""",
    "deploy-with-approval": """\
concurrency: 1
steps:
  - name: build
    run: [echo building, sleep 1]
  - name: approve
    approval: {role: maintainer, timeout: 1h}
  - name: deploy
    run: echo deploying to staging
  - name: smoke
    http: {url: "http://127.0.0.1:8000/health", expect_status: 200}
""",
    "logs-firehose": """\
steps:
  - name: noisy
    run: for i in $(seq 1 20000); do echo "line $i of a noisy build"; done
""",
}


async def _load_demo(settings: Settings) -> None:
    from app.db.models.pipelines import Pipeline
    from app.db.models.projects import Project
    from app.domain.accounts.users import ensure_admin
    from app.domain.pipelines.schemas import PipelineCreate
    from app.domain.pipelines.service import create_pipeline
    from app.domain.projects.schemas import ProjectCreate
    from app.domain.projects.service import create_project
    from app.domain.runtime import build_runtime

    rt = build_runtime(settings)
    try:
        async with rt.sessionmaker() as session:
            await ensure_admin(session, settings.admin_username, settings.admin_password)
            from app.db.models.accounts import User

            admin = await session.scalar(select(User).where(User.username == settings.admin_username))
            if admin is None:
                raise ConfigError("set ANSFLOW_ADMIN_USERNAME and ANSFLOW_ADMIN_PASSWORD for the demo")
            actor = Principal(user_id=admin.id, username=admin.username, is_admin=True, via="system")
            project_id = await session.scalar(select(Project.id).where(Project.name == DEMO_PROJECT))
            if project_id is None:
                project_id = (
                    await create_project(
                        session,
                        rt,
                        actor,
                        ProjectCreate(name=DEMO_PROJECT, description="Example pipelines loaded by `just demo`"),
                    )
                ).id
            for name, definition in DEMO_PIPELINES.items():
                exists = await session.scalar(
                    select(Pipeline.id).where(Pipeline.project_id == project_id, Pipeline.name == name)
                )
                if exists is None:
                    await create_pipeline(
                        session, rt, actor, project_id, PipelineCreate(name=name, definition=definition)
                    )
    finally:
        await rt.close()


def _openapi(path: str) -> None:
    from app.web.asgi import create_app

    app = create_app(Settings.from_env())
    document = app.openapi_schema.to_schema()
    Path(path).write_text(json.dumps(document, indent=2))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ansflow")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="migrate, create the admin and load the demo project")
    openapi = sub.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("path", nargs="?", default="openapi.json")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "migrate":
            upgrade(settings)
        elif args.command == "demo":
            upgrade(settings)
            asyncio.run(_load_demo(settings))
            print(f"demo ready: log in at http://{settings.host}:{settings.port} as {settings.admin_username!r}")
        elif args.command == "openapi":
            _openapi(args.path)
    except ConfigError as exc:
        print(f"ansflow: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
