"""`python -m movierec.core.cli`."""

import sys

from movierec.core.cli import main

sys.exit(main())
