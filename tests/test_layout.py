"""The workspace layout and the import rules between its packages."""

from __future__ import annotations

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
