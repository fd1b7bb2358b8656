# AnsFlow tasks. Run with `uv run just <recipe>` (rust-just is a dev dependency).

set dotenv-load := false

host := env_var_or_default("ANSFLOW_HOST", "127.0.0.1")
port := env_var_or_default("ANSFLOW_PORT", "8000")
web_workers := env_var_or_default("ANSFLOW_WEB_WORKERS", "1")

# list recipes
default:
    @just --list

# apply database migrations (SQLite by default, or ANSFLOW_DATABASE_URL)
migrate:
    uv run alembic upgrade head

# serve the app with granian (ASGI), host/port/workers from ANSFLOW_*
serve:
    #!/usr/bin/env bash
    set -euo pipefail
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/prometheus}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    exec uv run granian --interface asgi --factory app.web.asgi:create_app --host {{host}} --port {{port}} --workers {{web_workers}}

# run Dramatiq worker processes (needs ANSFLOW_BROKER_URL=amqp://...)
worker processes="2" threads="8":
    #!/usr/bin/env bash
    set -euo pipefail
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/prometheus}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    exec uv run dramatiq workers.app --processes {{processes}} --threads {{threads}}

# embedded mode: migrate, create admin and a demo project with pipelines, serve on 127.0.0.1:8000
demo:
    ANSFLOW_ADMIN_USERNAME=${ANSFLOW_ADMIN_USERNAME:-admin} ANSFLOW_ADMIN_PASSWORD=${ANSFLOW_ADMIN_PASSWORD:-admin} uv run python -m app.cli demo
    ANSFLOW_ADMIN_USERNAME=${ANSFLOW_ADMIN_USERNAME:-admin} ANSFLOW_ADMIN_PASSWORD=${ANSFLOW_ADMIN_PASSWORD:-admin} just serve

# the whole test suite on embedded defaults, then on PostgreSQL + Redis + RabbitMQ
test *args:
    uv run pytest -q --backend=embedded {{args}}
    uv run pytest -q --backend=real {{args}}

# tests on embedded defaults only (no services needed)
test-embedded *args:
    uv run pytest -q --backend=embedded {{args}}

# lint and type-check
lint:
    uv run ruff check app workers tests bench
    uv run mypy

# write the OpenAPI document to openapi.json
openapi:
    uv run python -m app.cli openapi openapi.json

# generate a typed Python client from the OpenAPI document into clients/python
client: openapi
    uvx openapi-python-client generate --path openapi.json --output-path clients/python --overwrite

# benchmarks (see bench/README.md); e.g. `just bench cached_read` or `just bench --real`
bench *args:
    uv run python -m bench {{args}}

# write bench/report.md with plots from the latest results
bench-report:
    uv run python -m bench.report
