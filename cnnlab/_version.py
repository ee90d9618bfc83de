"""cnnlab's version, in a module of its own so that code inside the package can read it without importing
the top-level ``cnnlab`` package (which imports everything)."""

# Keep in step with ``version`` in pyproject.toml (a static field there).
__version__ = "0.1.0"
