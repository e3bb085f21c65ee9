"""Start the movierec web demo: `python apps/gradio/app.py` (the Hugging Face Space's app_file)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

try:
    from movierec.app.cli import main
except ImportError:  # a checkout whose packages are not installed: use the sources next to this file
    sys.path[:0] = [str(ROOT / "packages" / "core" / "src"), str(ROOT / "packages" / "viz" / "src"),
                    str(Path(__file__).resolve().parent / "src")]
    from movierec.app.cli import main

# a regular (non-editable) install, as on a Space, cannot find the checkout's sample by itself
if (ROOT / "data_samples" / "combined_data_1.txt").exists():
    os.environ.setdefault("MOVIEREC_SAMPLE_DIR", str(ROOT / "data_samples"))

if __name__ == "__main__":
    sys.exit(main())
