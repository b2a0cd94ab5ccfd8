"""Report renderers: terminal (rich), JSON (stable schema) and Markdown (incident tickets)."""

FORMATS = ("terminal", "json", "markdown")
