"""The workspace layout and the import rules between its packages."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO, modules_loaded_by


def test_top_level_layout():
    for name in ("packages", "apps", "pyproject.toml", "tests", "data_samples", "README.md"):
        assert (REPO / name).exists(), name


def test_movierec_is_one_namespace_over_three_distributions():
    import movierec

    assert not hasattr(movierec, "__file__") or movierec.__file__ is None
    import movierec.app
    import movierec.core
    import movierec.viz

    assert movierec.core.__version__


def test_importing_core_loads_no_heavy_library():
    heavy = ("tensorflow", "surprise", "lightfm", "gradio", "plotly", "movierec.viz")
    statements = "import movierec.core, movierec.core.models, movierec.core.evaluation, movierec.core.cli"
    assert modules_loaded_by(statements, heavy) == []


def _core_import_graph() -> dict[str, set[str]]:
    """movierec.core's modules -> the movierec.core modules they import, read from the source.

    Imports at module level and inside functions both count; those under `if TYPE_CHECKING:` never
    run and do not. `from package import name` points at `package.name` where that is a module, else
    at `package`; the parent packages Python imports on the way are not edges (every submodule
    would otherwise close a circle with a package that imports it).
    """
    root = REPO / "packages" / "core" / "src"
    modules: dict[str, Path] = {}
    for path in (root / "movierec" / "core").rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        skipped: set[int] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[module] = {target for target in targets if target in modules and target != module}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of `graph` as a path that ends where it starts, or [] when there is none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_the_import_graph_of_core_has_no_circle():
    graph = _core_import_graph()
    assert "movierec.core.models.registry" in graph["movierec.core.models.classic.knn"]  # the reader sees imports
    assert "movierec.core.models.persistence" in graph["movierec.core.models.base"]  # ... inside functions too
    cycle = _a_cycle(graph)
    assert cycle == [], " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle():
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set()}) == []


def test_engines_are_grouped_by_family_with_the_contract_on_top():
    from movierec.core.models import ENGINES

    folders = {"classic": "classic", "ensemble": "ensemble", "deep": "deep", "surprise": "library", "lightfm": "library"}
    for name, info in ENGINES.items():
        assert info.engine.__module__.split(".")[3] == folders[info.family], name
    models = REPO / "packages" / "core" / "src" / "movierec" / "core" / "models"
    assert {path.name for path in models.glob("*.py")} >= {"base.py", "persistence.py", "registry.py"}
    assert not (models / "knn.py").exists() and not (models / "keras_mf.py").exists()
