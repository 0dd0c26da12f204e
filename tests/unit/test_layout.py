"""The apps' imports run one way, as jobsdash/__init__.py says: each app uses only the apps before
it (tenants -> waylay -> jobs -> links -> live), `ops` only `waylay`, the simulator only
`tenants`; and httpx is imported by `waylay` (and the bench, which drives jobsdash from outside)
alone."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "jobsdash"
ORDER = ["tenants", "waylay", "jobs", "links", "live"]
MAY_USE = {
    **{app: set(ORDER[:index]) | ({"ops"} if app in ("jobs", "live") else set()) for index, app in enumerate(ORDER)},
    "ops": {"waylay"},
    "simulator": {"tenants"},
}


def _imports() -> dict[str, dict[str, set[str]]]:
    """app -> imported module -> the files of the app that import it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or "migrations" in parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from jobsdash import links` imports the app it names.
                prefix = f"{node.module}." if node.module == "jobsdash" else ""
                names = [f"{prefix}{alias.name}" for alias in node.names] if prefix else [node.module]
            for name in names:
                found[parts[0]][name].add(str(path.relative_to(PACKAGE)))
    return found


IMPORTS = _imports()


@pytest.mark.parametrize("app", sorted(MAY_USE))
def test_an_app_imports_only_the_apps_before_it(app: str) -> None:
    used = {name.split(".")[1]: files for name, files in IMPORTS[app].items() if name.startswith("jobsdash.")}
    wrong = {other: sorted(files) for other, files in used.items() if other not in MAY_USE[app] | {app, "settings"}}
    assert wrong == {}


def test_only_the_waylay_client_and_the_bench_import_httpx() -> None:
    importers = {
        app for app, names in IMPORTS.items() if any(name.split(".")[0] in ("httpx", "httpx_sse") for name in names)
    }
    assert importers <= {"waylay", "bench"}
