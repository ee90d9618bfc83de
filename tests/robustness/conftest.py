"""Robustness suite: when ``CNNLAB_ROBUSTNESS_JSON`` names a file, write every recorded case into it.

``make robustness-report`` sets the variable, runs this folder and turns the
JSON into ``docs/robustness.md`` with ``scripts/robustness_report.py``.
"""

from __future__ import annotations

import json
import os

RECORD_ENV = "CNNLAB_ROBUSTNESS_JSON"


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    from robust_record import RECORDS

    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"exitstatus": int(exitstatus), "records": RECORDS}, fh, indent=1)
        fh.write("\n")
