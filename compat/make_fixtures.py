"""Write the small Keras-made files that cnnlab's ordinary tests load (``tests/fixtures/keras/``).

Run once, in the Keras venv: ``.venv-compat/bin/python compat/make_fixtures.py``. Real Keras 3 builds
each model of ``models.py``, trains it one step (so the optimizer has state), and saves it as
``.keras``, legacy ``.h5`` and ``.weights.h5``. ``branching_tf2.h5`` rewrites the architecture in
tf.keras 2.x form (``batch_input_shape``, plain dtype strings, list-style inbound nodes), checked
here to load in Keras 3 with the same outputs. ``expected.npz`` holds each model's input batch and
Keras's inference outputs, so the tests compare against Keras, not against cnnlab.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "keras"
# name -> (builder, optimizer, formats written)
FIXTURES = {
    "branching": (models.branching, lambda: keras.optimizers.Adam(1e-3), (".keras", ".h5")),
    "batchnorm": (models.batchnorm, lambda: keras.optimizers.SGD(0.01, momentum=0.9),
                  (".keras", ".h5", ".weights.h5")),
}
# Kept out of the repository to stay small: branching.h5 only feeds branching_tf2.h5.
INTERMEDIATE = ("branching.h5",)


def randomise_bn(model, rng) -> None:
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(size=beta.shape),
                               rng.normal(size=mean.shape), rng.uniform(0.5, 2.0, var.shape)])


def to_tf2_config(entry: dict) -> dict:
    """Rewrite a Keras 3 legacy-h5 model config the way tf.keras 2.x wrote it."""
    def layer(e):
        config = {k: v for k, v in e["config"].items() if k not in ("optional",)}
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"]["config"]["name"]
        if e["class_name"] == "InputLayer":
            config["batch_input_shape"] = config.pop("batch_shape")
        for key, value in list(config.items()):
            if isinstance(value, dict) and "module" in value:
                config[key] = {"class_name": value["class_name"], "config": value["config"]}
                config[key]["config"].pop("input_axes", None), config[key]["config"].pop("output_axes", None)
        out = {"class_name": e["class_name"], "config": config}
        if "inbound_nodes" in e:
            out["name"] = e["name"]
            out["inbound_nodes"] = [tf2_node(n) for n in e["inbound_nodes"]]
        return out

    def tf2_node(node):
        args = node["args"][0]
        tensors = args if isinstance(args, list) else [args]
        return [[*t["config"]["keras_history"], {}] for t in tensors]

    config = dict(entry["config"])
    config["layers"] = [layer(e) for e in config["layers"]]
    config.pop("dtype", None)
    for key in ("input_layers", "output_layers"):
        if key in config and isinstance(config[key][0], str):
            config[key] = [config[key]]
    return {"class_name": entry["class_name"], "config": config}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    rng = np.random.default_rng(0)
    for name, (builder, optimizer, formats) in FIXTURES.items():
        keras.backend.clear_session()
        model = builder(keras)
        shape = (2,) + tuple(model.inputs[0].shape[1:])
        x = rng.uniform(0, 1, size=shape).astype("float32")
        units = model.outputs[0].shape[-1]
        model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        y = rng.integers(0, units, size=2)
        model.fit(x, y, epochs=1, batch_size=2, verbose=0)
        randomise_bn(model, rng)
        expected[f"{name}/x"] = x
        expected[f"{name}/y"] = np.asarray(model(x, training=False))
        for suffix in formats:
            path = OUT / f"{name}{suffix}"
            model.save_weights(path) if suffix == ".weights.h5" else model.save(path)
    for name in ("branching",):
        source, target = OUT / f"{name}.h5", OUT / f"{name}_tf2.h5"
        target.write_bytes(source.read_bytes())
        with h5py.File(target, "r+") as f:
            f.attrs["model_config"] = json.dumps(to_tf2_config(json.loads(f.attrs["model_config"])))
            f.attrs["keras_version"] = "2.15.0"
        reloaded = keras.models.load_model(target, compile=False)
        np.testing.assert_allclose(np.asarray(reloaded(expected[f"{name}/x"], training=False)),
                                   expected[f"{name}/y"], rtol=1e-6, atol=1e-6)
    for name in INTERMEDIATE:
        (OUT / name).unlink()
    np.savez_compressed(OUT / "expected.npz", **expected)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total / 1024:.0f} KB, to {OUT}")


if __name__ == "__main__":
    main()
