"""The three rings of DESIGN.md: app/lib, app/db and app/domain are pure Python; only app/web
imports litestar; workers import the domain, never the web layer."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ("app/lib", "app/db", "app/domain", "app/config.py")
WEB_ONLY = ("litestar",)


def python_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = ROOT / root
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement names, at any depth (imports inside functions count too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend([(node.lineno, node.module)])
    return found


def violations(roots: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in python_files(*roots):
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def test_scan_finds_the_files_it_is_meant_to_check() -> None:
    files = python_files(*PURE)
    assert len(files) > 20, files
    web = violations(("app/web",), WEB_ONLY)
    assert web, "the scan must see app/web's litestar imports, or it sees nothing"


def test_domain_lib_and_db_never_import_litestar() -> None:
    assert not violations(PURE, WEB_ONLY)


def test_domain_lib_and_db_never_import_the_web_layer() -> None:
    assert not violations(PURE, ("app.web",))


def test_workers_never_import_the_web_layer() -> None:
    assert not violations(("workers",), ("app.web", *WEB_ONLY))


def _loaded_after(imports: str, env: dict[str, str], *, without_litestar: bool) -> dict[str, list[str]]:
    """Import ``imports`` in a fresh interpreter; report which litestar, app.web and workers modules loaded.

    ``without_litestar`` makes litestar unimportable first, as on a worker host without it installed:
    advanced-alchemy imports litestar when it can (optional shims in ``advanced_alchemy._typing``), so
    a plain ``import workers`` always shows litestar in ``sys.modules`` even though no code of ours
    needs it. The AST scans above make sure our own modules never import it.
    """
    block = "sys.modules['litestar'] = None  # 'not installed': import raises, find_spec says None\n"
    code = (
        f"import json, sys\n{block if without_litestar else ''}{imports}\n"
        "mods = sorted(m for m, v in sys.modules.items() if v is not None)\n"
        "print(json.dumps({'litestar': [m for m in mods if m.split('.')[0] == 'litestar'],"
        " 'web': [m for m in mods if m.startswith('app.web')],"
        " 'workers': [m for m in mods if m.startswith('workers')]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSFLOW_")}
    env.update({"ANSFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",
                "ANSFLOW_SECRET_KEY": "architecture-test", "PYTHONPATH": str(ROOT)})
    return env


# every module of the workers package, ``workers.app`` (what ``dramatiq workers.app`` loads) included
WORKER_MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                        for p in python_files("workers"))


def test_worker_modules_run_without_litestar(tmp_path: Path) -> None:
    """On embedded settings, so importing ``workers.app`` contacts no service."""
    assert {"workers.app", "workers.registry", "workers.actors.executions"} <= set(WORKER_MODULES)
    loaded = _loaded_after("import " + ", ".join(WORKER_MODULES), _clean_env(tmp_path), without_litestar=True)
    assert set(WORKER_MODULES) <= set(loaded["workers"])
    assert not loaded["litestar"], loaded["litestar"][:5]
    assert not loaded["web"], loaded["web"]


def test_litestar_blocking_is_effective(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="ModuleNotFoundError"):
        _loaded_after("import app.web.asgi", _clean_env(tmp_path), without_litestar=True)

