"""Start the movierec web demo: `python apps/gradio/app.py` (the Hugging Face Space's app_file)."""

import sys
from pathlib import Path

try:
    from movierec.app.cli import main
except ImportError:  # a checkout whose packages are not installed: use the sources next to this file
    root = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(root / "packages" / "core" / "src"), str(root / "packages" / "viz" / "src"),
                    str(Path(__file__).resolve().parent / "src")]
    from movierec.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
