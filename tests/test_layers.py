"""The dependency order of app/ runs one way (design.md): a wrong import fails here.

base <- notifications <- auth <- programme <- the other domains <- admin <- the wiring on top.

Every import counts: at the top of a module or inside a function, `from app import x`, and a
string naming a module ("app.x.y" or "app.x.y:function", as importlib would take it). A lower
layer that must react to a higher one does it through a signal or a registry wired in create_app.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

BASE = {"app.db", "app.clock", "app.errors", "app.content", "app.audit", "app.urls", "app.tokens",
        "app.exports", "app.charts", "app.extensions", "app.formatting", "app.form_errors", "app.sealing",
        "app.permissions", "app.heartbeat", "app.unit_of_work"}
DOMAINS = {"applications", "attendance", "portal", "groups", "celebration", "evaluation", "communities", "public"}
TOP = {"app", "app.scheduler", "app.cli", "app.startup", "app.backup"}
LAYERS = [BASE, {"notifications"}, {"auth"}, {"programme"}, DOMAINS, {"admin"}, TOP]


def layer_of(unit: str) -> int:
    for number, layer in enumerate(LAYERS):
        if unit in layer:
            return number
    raise AssertionError(f"{unit} is in no layer: add it to tests/test_layers.py (and design.md's order)")


def unit_of(module: str) -> str:
    """app.programme.models -> programme; app.clock -> app.clock; app -> app."""
    parts = module.split(".")
    if len(parts) == 1:
        return "app"
    if (APP / parts[1]).is_dir():
        return parts[1]
    return "app." + parts[1]


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def imports_of(path: Path):
    """(imported module, line) for every import and module-naming string in the file."""
    module, is_package = _module_name(path)
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from app import clock` imports app.clock; `create_app` is app's
                named = APP.parent / target.replace(".", "/") / alias.name
                is_module = named.is_dir() or named.with_suffix(".py").exists()
                yield (f"{target}.{alias.name}" if is_module else target), node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.split(":")[0]
            if text.startswith("app.") and text.replace(".", "").replace("_", "").isalnum():
                yield text, node.lineno


def edges() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(APP.rglob("*.py")):
        source = unit_of(_module_name(path)[0])
        for target, line in imports_of(path):
            if target == "app" or target.startswith("app."):
                dest = unit_of(target)
                if dest != source:
                    found[source, dest].append(f"{path.relative_to(APP.parent)}:{line}")
    return found


def test_every_import_points_down_the_layers():
    wrong = [f"{source} ({layer_of(source)}) imports {dest} ({layer_of(dest)}) at {', '.join(where[:3])}"
             for (source, dest), where in sorted(edges().items()) if layer_of(dest) > layer_of(source)]
    assert not wrong, "Imports against the layers:\n" + "\n".join(wrong)


def test_no_cycle_among_units_of_one_layer():
    """Domains of one layer may use each other, one way. The wiring on top (create_app, the scheduler
    process that builds its own app, the CLI) is exempt: it is what puts the layers together."""
    graph = defaultdict(set)
    for source, dest in edges():
        if not (source in TOP and dest in TOP):
            graph[source].add(dest)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for nxt in sorted(graph[unit]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit)):
            pytest.fail("Import cycle: " + " -> ".join(cycle))


def test_a_domain_never_imports_another_domains_views():
    wrong = []
    for path in sorted(APP.rglob("*.py")):
        source = unit_of(_module_name(path)[0])
        for target, line in imports_of(path):
            parts = target.split(".")
            if (len(parts) > 2 and parts[0] == "app" and parts[2] in {"views", "facilitator_views", "two_step_views"}
                    and unit_of(target) != source and source != "app"):
                wrong.append(f"{path.relative_to(APP.parent)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The check itself has teeth: programme importing a domain above it is reported."""
    fake = tmp_path / "app"
    (fake / "programme").mkdir(parents=True)
    (fake / "applications").mkdir()
    (fake / "programme" / "__init__.py").write_text("")
    (fake / "applications" / "__init__.py").write_text("")
    (fake / "programme" / "rules.py").write_text(
        "def later():\n    from app.applications.jobs import plan\n\nHOOK = 'app.applications.jobs:cancel'\n")
    monkeypatch.setattr(f"{__name__}.APP", fake)
    found = edges()
    assert ("programme", "applications") in found and len(found["programme", "applications"]) == 2
    with pytest.raises(AssertionError, match="programme .3. imports applications .4."):
        test_every_import_points_down_the_layers()


def test_communities_stand_below_evaluation():
    """Evaluation reads participants' CoPs from communities; communities never reach back (nor into any
    other domain: a community lives on after the programme, so it needs only the base, auth and programme)."""
    wrong = [f"communities imports {dest} at {', '.join(where[:3])}" for (source, dest), where in sorted(edges().items())
             if source == "communities" and dest in DOMAINS]
    assert not wrong, "\n".join(wrong)
    assert ("evaluation", "communities") in edges()
