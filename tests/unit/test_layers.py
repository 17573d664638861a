"""The core (``nocturne/`` minus the app module) never imports ``workers/``.

The app module, ``nocturne/nocturne.py``, is the one place the two meet: it installs the
worker's job backend into ``nocturne.queue``. Anything else reaching into ``workers/``
brings back the cycle queue -> workers.main -> jobs -> queue.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from nocturne.settings import ROOT

CORE = ROOT / "nocturne"
APP_MODULE = CORE / "nocturne.py"


def _core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if p != APP_MODULE)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _is_workers(name: str) -> bool:
    return name == "workers" or name.startswith("workers.")


def test_importing_every_core_module_imports_no_workers_module():
    modules = [_module(p) for p in _core_files()]
    assert "nocturne.queue" in modules and "nocturne.nocturne" not in modules
    script = (
        "import importlib, json, sys\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m == 'workers' or m.startswith('workers.'))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, json.dumps(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == []


def test_no_core_module_imports_workers_even_inside_a_function():
    """Deferred imports run later, so the import above would miss them; read the source."""
    found = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if _is_workers(n)
            ]
    assert found == []
