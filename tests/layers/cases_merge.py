"""Layer-registry cases of the merge family and Lambda (see registry_cases.py for the tuple form)."""

from cnnlab import layers

_FUNCTIONAL_FORM = "functional form of a merge layer (returns a tensor, not a layer); covered in tests/layers/test_merge.py"

CASES = [
    (layers.Add, {}, [(2, 4, 3), (2, 1, 3)], (2, 4, 3), {}),  # broadcasting a size-1 axis
    (layers.Add, {}, [(2, 3), (2, 4, 3)], (2, 4, 3), {}),  # a lower rank aligns on the trailing axes
    (layers.Subtract, {}, [(2, 4, 4, 3), (2, 4, 4, 3)], (2, 4, 4, 3), {}),
    (layers.Multiply, {}, [(2, 5), (2, 5), (2, 5)], (2, 5), {}),
    (layers.Average, {}, [(2, 4, 4, 3), (2, 4, 4, 3), (2, 4, 4, 3)], (2, 4, 4, 3), {}),
    (layers.Maximum, {}, [(2, 6), (2, 6)], (2, 6), {}),
    (layers.Minimum, {}, [(2, 3, 6), (2, 1, 6)], (2, 3, 6), {}),
    (layers.Concatenate, {"axis": -2}, [(2, 3, 4), (2, 5, 4), (2, 1, 4)], (2, 9, 4), {}),
    (layers.Dot, {"axes": 1}, [(2, 5), (2, 5)], (2, 1), {}),
    (layers.Dot, {"axes": (1, 2)}, [(2, 3, 5), (2, 10, 3)], (2, 5, 10), {}),
    (layers.Dot, {"axes": -1, "normalize": True}, [(2, 4, 6), (2, 3, 6)], (2, 4, 3), {}),
    (layers.Dot, {"axes": [2, 1]}, [(2, 3, 4), (2, 4)], (2, 3), {}),
]

NOT_DATA_LAYERS: dict[str, str] = {
    **{name: _FUNCTIONAL_FORM for name in ("add", "subtract", "multiply", "average", "maximum", "minimum",
                                           "concatenate", "dot")},
    "Lambda": ("its config names a function that only the custom_objects passed when loading resolve; "
               "tests/layers/test_lambda.py runs the shared layer test with them"),
}
