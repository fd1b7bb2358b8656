"""The environment a step's processes see (CONTRACT §4): variables, matrix, step env, secrets, ANSFLOW_*."""

from __future__ import annotations

from pathlib import Path

from app.db.models.executions import Execution
from app.domain.pipelines.plan import PlannedStep
from app.domain.pipelines.spec import PipelineSpec

_TRIGGER_ENV = {
    "event": "ANSFLOW_EVENT",
    "branch": "ANSFLOW_BRANCH",
    "commit": "ANSFLOW_COMMIT",
    "repo_url": "ANSFLOW_REPO_URL",
}


def step_environment(
    execution: Execution, spec: PipelineSpec, planned: PlannedStep, workspace: Path, secrets: dict[str, str]
) -> dict[str, str]:
    env: dict[str, str] = {str(k): str(v) for k, v in (execution.variables or {}).items()}
    env.update(planned.matrix)
    env.update(planned.spec.env)
    for name in spec.secrets:
        if name in secrets:
            env[name] = secrets[name]
    info = execution.trigger_info or {}
    for key, var in _TRIGGER_ENV.items():
        if info.get(key):
            env[var] = str(info[key])
    env.update(
        {
            "CI": "true",
            "ANSFLOW": "true",
            "ANSFLOW_EXECUTION_ID": str(execution.id),
            "ANSFLOW_EXECUTION_NUMBER": str(execution.number),
            "ANSFLOW_PIPELINE_ID": str(execution.pipeline_id),
            "ANSFLOW_PROJECT_ID": str(execution.project_id),
            "ANSFLOW_STEP": planned.name,
            "ANSFLOW_WORKSPACE": str(workspace),
            "ANSFLOW_TRIGGER": execution.trigger,
        }
    )
    return env
