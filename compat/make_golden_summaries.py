"""Write Keras 3's summary of each model in ``models.GOLDEN_MODELS`` to ``tests/inspect/golden/keras_<name>.txt``.

Run in the compat environment (``make compat`` creates it):
``.venv-compat/bin/python compat/make_golden_summaries.py``. cnnlab's tests
compare its ``summary()`` to these files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["COLUMNS"] = "200"  # a wide terminal, so Keras's default widths apply
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "tests" / "inspect" / "golden"
sys.path.insert(0, str(HERE))

import keras  # noqa: E402

import models  # noqa: E402


def keras_summary(model, **kwargs) -> str:
    captured = []
    model.summary(print_fn=captured.append, **kwargs)
    return "".join(captured)


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, build in models.GOLDEN_MODELS.items():
        keras.backend.clear_session()
        text = keras_summary(build(keras))
        (GOLDEN / f"keras_{name}.txt").write_text(text, encoding="utf-8")
        print(f"wrote keras_{name}.txt")
    keras.backend.clear_session()
    text = keras_summary(models.batchnorm(keras), show_trainable=True)
    (GOLDEN / "keras_batchnorm_trainable.txt").write_text(text, encoding="utf-8")
    print("wrote keras_batchnorm_trainable.txt")


if __name__ == "__main__":
    main()
