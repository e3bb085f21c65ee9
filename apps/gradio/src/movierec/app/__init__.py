"""movierec.app: the Gradio demo (layout and callbacks only)."""
