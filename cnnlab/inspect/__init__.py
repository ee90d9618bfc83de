"""Look inside models: summaries and shape arithmetic."""

from cnnlab.inspect.summary import receptive_fields, render_summary, summary_rows

__all__ = ["receptive_fields", "render_summary", "summary_rows"]
