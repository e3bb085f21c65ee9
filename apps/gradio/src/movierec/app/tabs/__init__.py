"""The page's tabs, one module each: its widgets, its handler and its outputs (declared once, in `Outputs`)."""
