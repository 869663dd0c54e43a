"""The curated public API: ``tunegate.__all__`` is pinned (a change to it is a deliberate API change),
every name resolves to the object it stands for, and ``import tunegate`` stays cheap.

Also the layering fixes: ``models/`` imports nothing of ``tasks/``, and the spec parser does not
import the model factory (the former ``_spec`` <-> ``_factory`` loop).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tunegate

PUBLIC = [
    "CompareConfig",
    "ComparisonResult",
    "GateResult",
    "ItemRecord",
    "MetricComparison",
    "MetricScore",
    "RegressReport",
    "RegressionResult",
    "RegressionSuite",
    "RunRecord",
    "RunResult",
    "Store",
    "SuiteSpec",
    "TaskComparison",
    "TunegateError",
    "compare",
    "load_regression_suite",
    "load_suite",
    "open_store",
    "regress",
    "run",
]


def test_public_api_is_pinned() -> None:
    assert tunegate.__all__ == PUBLIC
    assert sorted(tunegate.__all__) == tunegate.__all__


def test_every_public_name_is_the_object_it_names() -> None:
    from tunegate import errors, regression, runner, store, suite

    expected = {
        "compare": runner.compare_models,
        "run": runner.run_model,
        "regress": regression.run_regression,
        "load_suite": suite.load_suite,
        "load_regression_suite": regression.load_regression_suite,
        "open_store": store.open_store,
        "CompareConfig": runner.CompareConfig,
        "ComparisonResult": runner.ComparisonResult,
        "RunResult": runner.RunResult,
        "RegressionResult": regression.RegressionResult,
        "RegressReport": regression.RegressReport,
        "TunegateError": errors.TunegateError,
    }
    for name in PUBLIC:
        value = getattr(tunegate, name)
        assert value is not None and value.__module__.startswith("tunegate."), name
        if name in expected:
            assert value is expected[name], name
    assert set(PUBLIC) <= set(dir(tunegate))


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        _ = tunegate.nope  # type: ignore[attr-defined]
    except AttributeError as e:
        assert "nope" in str(e)
    else:
        raise AssertionError("tunegate.nope resolved")


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_tunegate_is_cheap() -> None:
    mods = _imported_after("import tunegate")
    assert not {"torch", "sqlalchemy", "transformers", "tunegate.runner"} & mods


def _imports(path: Path) -> set[str]:
    """Every tunegate module ``path`` imports at run time, at top level or inside functions (imports
    under ``if TYPE_CHECKING:`` never run)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tunegate"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tunegate"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_models_do_not_import_tasks_and_their_modules_form_no_loop() -> None:
    folder = Path(tunegate.__file__).parent / "models"
    graph = {f"tunegate.models.{p.stem}": _imports(p) for p in folder.glob("_*.py")}
    for mod, deps in graph.items():
        assert not any(d == "tunegate.tasks" or d.startswith("tunegate.tasks.") for d in deps), mod

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            d == goal or (d not in seen and reaches(d, goal, seen | {d})) for d in graph.get(start, ())
        )

    loops = [m for m in graph if reaches(m, m, set())]
    assert loops == [], f"import loop through {loops}"
    assert "tunegate.models._factory" not in graph["tunegate.models._spec"]
