"""Layer-registry cases of the merge family (see registry_cases.py for the tuple form)."""

from cnnlab import layers  # noqa: F401

CASES = [
]

NOT_DATA_LAYERS: dict[str, str] = {}
