"""The workspace layout and the import rules between its packages."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


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
    code = (
        "import sys, movierec.core, movierec.core.models, movierec.core.evaluation, movierec.core.cli;"
        "heavy = [m for m in ('tensorflow', 'surprise', 'lightfm', 'gradio', 'plotly', 'movierec.viz') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
