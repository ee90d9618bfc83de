"""tf.function, tf.print, tf.device, tf.config, tf.test, tf.random and tf.summary through ``import cnnlab as tf``."""

import io
import warnings

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError
from cnnlab.tf_names import devices


def test_function_runs_eagerly_with_or_without_arguments():
    @tf.function
    def double(x):
        return 2 * x

    @tf.function(reduce_retracing=True, autograph=False)
    def add_one(x):
        return x + 1

    assert double(tf.constant(3)).item() == 6 and add_one(1) == 2
    assert double.__name__ == "double" and double.python_function(2) == 4
    assert tf.executing_eagerly() and tf.config.functions_run_eagerly()


def test_function_checks_its_input_signature():
    @tf.function(input_signature=[tf.TensorSpec(shape=[None, 2], dtype=tf.float32)])
    def total(x):
        return tf.reduce_sum(x)

    assert total(np.ones((3, 2), np.float32)).item() == 6.0
    with pytest.raises(ShapeError, match="input_signature shape"):
        total(np.ones((3, 3), np.float32))
    with pytest.raises(ArgumentTypeError, match="lists 1 arguments"):
        total(np.ones((3, 2)), np.ones(2))


def test_function_with_jit_compile_hands_the_function_to_torch_compile(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda fn: calls.append(fn) or fn)

    @tf.function(jit_compile=True)
    def square(x):
        return x * x

    assert not calls  # compiled lazily, on the first call
    assert square(3) == 9 and square(4) == 16 and len(calls) == 1


def test_misspelt_function_keyword_gets_a_did_you_mean():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'jit_compile'"):
        tf.function(jit_compiler=True)


def _printed(*values, **kwargs) -> str:
    stream = io.StringIO()
    tf.print(*values, output_stream=stream, **kwargs)
    return stream.getvalue()


def test_print_shows_tensor_values_like_tensorflow():
    assert _printed("loss:", tf.constant(0.25), 3) == "loss: 0.25 3\n"
    assert _printed(tf.range(10)) == "[0 1 2 ... 7 8 9]\n"
    assert _printed(tf.reshape(tf.range(6), [2, 3])) == "[[0 1 2]\n [3 4 5]]\n"
    assert _printed(tf.constant(1 / 3)) == "0.333333343\n"  # float32 with 9 significant digits
    assert _printed(tf.constant([True, False]), summarize=-1, sep=",", end="!") == "[1 0]!"
    assert _printed({"a": tf.constant(1)}) == "{'a': 1}\n"


def test_print_writes_to_stderr_by_default_and_to_files(capsys, tmp_path):
    tf.print(tf.constant([1, 2]))
    assert capsys.readouterr().err == "[1 2]\n"
    target = tmp_path / "log.txt"
    tf.print("x", output_stream=f"file://{target}")
    assert target.read_text() == "x\n"
    with pytest.raises(ArgumentTypeError, match="file://"):
        tf.print("x", output_stream="stdout")


def test_devices_are_listed_like_tensorflow():
    cpus = tf.config.list_physical_devices("CPU")
    assert cpus == [("/physical_device:CPU:0", "CPU")] and cpus[0].name == "/physical_device:CPU:0"
    assert cpus[0].device_type == "CPU" and tf.config.list_logical_devices("CPU")[0].name == "/device:CPU:0"
    gpus = tf.config.list_physical_devices("GPU")
    assert (tf.test.gpu_device_name() == "/device:GPU:0") == bool(gpus)
    assert tf.test.is_gpu_available() == bool(gpus) and isinstance(tf.test.is_built_with_cuda(), bool)
    with pytest.raises(ConfigError, match="device_type"):
        tf.config.list_physical_devices("TPU")


def test_set_memory_growth_accepts_gpus_and_refuses_the_cpu_like_tensorflow():
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    with pytest.raises(ConfigError, match="GPUs only"):
        tf.config.experimental.set_memory_growth(tf.config.list_physical_devices("CPU")[0], True)
    with pytest.raises(ArgumentTypeError, match="list_physical_devices"):
        tf.config.experimental.set_memory_growth("/GPU:0", True)


def test_threading_settings_map_to_torch():
    before = torch.get_num_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        assert torch.get_num_threads() == 1 and tf.config.threading.get_intra_op_parallelism_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_device_places_new_tensors_and_soft_places_a_missing_gpu(monkeypatch):
    with tf.device("/CPU:0"):
        assert tf.zeros([2]).device.type == "cpu"
    with tf.device(""):
        pass
    monkeypatch.setattr(devices, "_gpu_devices", lambda: [])
    monkeypatch.setattr(devices, "_warned", set())
    with pytest.warns(UserWarning, match="runs on the CPU"):
        with tf.device("/GPU:0"):
            assert tf.ones([1]).device.type == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning comes once per device name
        tf.device("/GPU:0")
    tf.config.set_soft_device_placement(False)
    try:
        with pytest.raises(ConfigError, match="soft device placement is off"):
            tf.device("/device:GPU:0")
    finally:
        tf.config.set_soft_device_placement(True)
    with pytest.raises(ArgumentTypeError, match="string"):
        tf.device(0)


def test_tf_random_accepts_tensorflow_signatures_and_set_seed_repeats():
    tf.random.set_seed(5)
    a = tf.random.uniform((3,), maxval=None)
    tf.random.set_seed(5)
    assert torch.equal(a, tf.random.uniform((3,)))
    assert float(a.min()) >= 0 and float(a.max()) < 1
    ints = tf.random.uniform((100,), minval=2, maxval=5, dtype=tf.int32, seed=1)
    assert ints.dtype == tf.int32 and set(ints.tolist()) <= {2, 3, 4}
    assert tf.random.normal([2, 2], mean=1.0, stddev=0.1, name="n").shape == (2, 2)
    with pytest.raises(ConfigError, match="needs an int maxval"):
        tf.random.uniform((2,), dtype=tf.int32)
    with pytest.raises(AttributeError, match="Did you mean 'uniform'"):
        tf.random.unifrom  # noqa: B018


def test_summary_functions_reject_misspelt_keywords_and_names():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'step'"):
        tf.summary.scalar("loss", 1.0, stpe=3)
    with pytest.raises(AttributeError, match="Did you mean 'scalar'"):
        tf.summary.scaler  # noqa: B018
    assert tf.summary.scalar("loss", 1.0, step=3) is False  # no default writer: nothing written, as in TF


def test_dtypes_are_torch_dtypes():
    assert tf.float32 is torch.float32 and tf.dtypes.int64 is torch.int64 and tf.as_dtype("uint8") is torch.uint8
    assert tf.zeros([1], dtype=tf.bfloat16).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="Did you mean 'float32'"):
        tf.cast([1], "flaot32")
