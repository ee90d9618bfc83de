"""Keras layers cnnlab does not provide say so, with what to use instead, and no misleading did-you-mean."""

import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.errors import CnnlabError, FileFormatError
from cnnlab.io.keras_config import model_from_keras_config
from cnnlab.io.registry import layer_from_config
from cnnlab.layers._out_of_scope import OUT_OF_SCOPE, LayerNotProvidedError


@pytest.mark.parametrize("name", sorted(OUT_OF_SCOPE))
def test_out_of_scope_name_raises_an_attribute_error_saying_cnnlab_does_not_provide_it(name):
    with pytest.raises(AttributeError) as info:
        getattr(layers, name)
    assert isinstance(info.value, CnnlabError) and isinstance(info.value, LayerNotProvidedError)
    message = str(info.value)
    assert f"{name} is a Keras layer that cnnlab does not provide" in message
    assert "image-classification CNNs" in message and "Instead, " in message
    assert "Did you mean" not in message


def test_out_of_scope_table_names_no_layer_cnnlab_provides():
    assert not set(OUT_OF_SCOPE) & set(layers.__all__)


def test_sequence_layers_point_to_torch_module_not_to_a_lookalike():
    message = str(pytest.raises(AttributeError, getattr, layers, "GRU").value)
    assert "ReLU" not in message
    assert "layers.TorchModule(module, data_format='channels_last')" in message and "torch.nn.GRU(" in message


def test_a_miscased_out_of_scope_name_is_recognised():
    message = str(pytest.raises(LayerNotProvidedError, getattr, layers, "Lstm").value)
    assert "'Lstm' looks like Keras's LSTM, a layer that cnnlab does not provide" in message


def test_hasattr_is_false_for_out_of_scope_names():
    assert not hasattr(layers, "Embedding")


def test_a_typo_of_a_provided_layer_still_gets_its_did_you_mean():
    message = str(pytest.raises(AttributeError, getattr, layers, "Conv2d").value)
    assert "Did you mean 'Conv2D'?" in message


def test_the_suggested_torch_module_recipe_for_an_lstm_works():
    class LastOutputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(4, 8, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    inputs = layers.Input((5, 4))
    outputs = layers.TorchModule(LastOutputs(), data_format="channels_last")(inputs)
    assert outputs.shape == (None, 5, 8)
    assert cnnlab.Model(inputs, outputs).predict(torch.zeros(2, 5, 4).numpy(), verbose=0).shape == (2, 5, 8)


def test_native_config_naming_an_out_of_scope_class_explains_it():
    entry = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 8}}]}}
    with pytest.raises(FileFormatError, match=r"names the layer class 'LSTM', which is not a cnnlab layer. LSTM is a "
                                              r"Keras layer that cnnlab does not provide") as info:
        layer_from_config(entry)
    assert "Did you mean" not in str(info.value)


def test_keras_config_naming_an_out_of_scope_class_explains_it():
    entry = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Embedding", "config": {"name": "embedding", "input_dim": 100,
                                                                          "output_dim": 8}}]}}
    with pytest.raises(FileFormatError, match=r"layer 'embedding' has class 'Embedding', which is not a cnnlab layer. "
                                              r"Embedding is a Keras layer that cnnlab does not provide.*"
                                              r"torch.nn.Embedding.*Received: class_name='Embedding'"):
        model_from_keras_config(entry)
