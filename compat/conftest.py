"""The compat tests need real Keras; they run in .venv-compat (``make compat``), never in .venv."""

import os

os.environ["COLUMNS"] = "200"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
