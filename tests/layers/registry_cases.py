"""Registry cases of the layer families, one module each (``cases_<family>.py``), gathered here.

Each family module defines ``CASES`` (same tuple form as ``LAYER_CASES`` in test_layer_registry.py) and
``NOT_DATA_LAYERS`` (public names that are not layers one instantiates on data, each with its reason).
"""

import cases_activation
import cases_conv
import cases_merge
import cases_normalization
import cases_preprocessing
import cases_reshaping

_FAMILIES = (cases_conv, cases_reshaping, cases_normalization, cases_activation, cases_merge, cases_preprocessing)

CASES = [case for family in _FAMILIES for case in family.CASES]
NOT_DATA_LAYERS = {name: reason for family in _FAMILIES for name, reason in family.NOT_DATA_LAYERS.items()}
