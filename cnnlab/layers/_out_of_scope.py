"""Keras layer names cnnlab does not provide, each with what to use instead.

cnnlab covers image-classification CNNs; Keras's text, sequence, attention,
audio and other-backend layers are out of scope. Asking for one (``layers.LSTM``
or a model file naming it) says so plainly instead of suggesting an unrelated
name that happens to be spelt alike (``GRU`` is not ``ReLU``). Only names that
are out of scope belong here: a layer another family adds later never reaches
this table, because lookups come here only for names cnnlab lacks.
"""

from __future__ import annotations

from cnnlab.errors import CnnlabError

SCOPE = "cnnlab covers image-classification CNNs"
_TORCH_RNN = ("wrap PyTorch's: write a torch.nn.Module whose forward returns self.rnn(x)[0], with "
              "self.rnn = torch.nn.{torch}(input_size, hidden_size, batch_first=True), and use "
              "layers.TorchModule(module, data_format='channels_last')")
_TEXT = ("turn text into integer or float arrays before the model (e.g. with a tokenizer), then feed those arrays "
         "to cnnlab")

# Keras 3.15 name (keras.layers) -> what to use instead.
OUT_OF_SCOPE: dict[str, str] = {
    **{name: _TORCH_RNN.format(torch=torch) for name, torch in (
        ("LSTM", "LSTM"), ("GRU", "GRU"), ("SimpleRNN", "RNN"), ("RNN", "RNN"), ("LSTMCell", "LSTMCell"),
        ("GRUCell", "GRUCell"), ("SimpleRNNCell", "RNNCell"), ("StackedRNNCells", "LSTM"))},
    "Bidirectional": _TORCH_RNN.format(torch="LSTM").replace("batch_first=True",
                                                             "batch_first=True, bidirectional=True"),
    "TimeDistributed": ("fold time into the batch axis with Reshape, apply the layer, and unfold it again; or "
                        "wrap a torch.nn.Module with layers.TorchModule"),
    **{f"ConvLSTM{d}D": "write the cell as a torch.nn.Module and wrap it with layers.TorchModule(module)"
       for d in (1, 2, 3)},
    **{name: ("wrap PyTorch's layer: layers.TorchModule(torch.nn.MultiheadAttention(embed_dim, num_heads, "
              "batch_first=True), data_format='channels_last')")
       for name in ("Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention")},
    "Embedding": ("wrap PyTorch's layer: layers.TorchModule(torch.nn.Embedding(num_embeddings, embedding_dim), "
                  "data_format='channels_last')"),
    "ReversibleEmbedding": "wrap a torch.nn.Embedding with layers.TorchModule",
    "EinsumDense": "use Dense for a projection of the last axis, or torch.einsum inside a Lambda",
    "Masking": "cnnlab has no masking (images have no padded time steps); drop the layer",
    **{name: _TEXT for name in ("TextVectorization", "StringLookup", "IntegerLookup", "Hashing", "HashedCrossing")},
    "CategoryEncoding": "one-hot encode labels with cnnlab.utils.to_categorical(y, num_classes)",
    "Discretization": "bin the values with numpy.digitize before the model",
    **{name: ("compute spectrograms before the model (e.g. torchaudio.transforms.MelSpectrogram) and feed them "
              "as images") for name in ("MelSpectrogram", "STFTSpectrogram")},
    "MaxNumBoundingBoxes": "bounding boxes are object detection, not classification; cnnlab has no box layers",
    "TorchModuleWrapper": "use layers.TorchModule(module), cnnlab's wrapper of a torch.nn.Module",
    **{name: "cnnlab runs on PyTorch; wrap a torch.nn.Module with layers.TorchModule(module)"
       for name in ("JaxLayer", "FlaxLayer", "TFSMLayer")},
    "Wrapper": "subclass layers.Layer and call the wrapped layer in call()",
    "SpectralNormalization": ("wrap torch.nn.utils.parametrizations.spectral_norm(torch.nn.Conv2d(...)) with "
                              "layers.TorchModule"),
}
_BY_LOWER = {name.lower(): name for name in OUT_OF_SCOPE}


class LayerNotProvidedError(CnnlabError, AttributeError):
    """A Keras layer name that cnnlab does not provide (text, sequence, attention, ... layers)."""


def keras_name(name: str) -> str | None:
    """The Keras spelling of an out-of-scope layer ``name`` (any case), or None when it is not one."""
    return _BY_LOWER.get(str(name).lower())


def explain(name: str) -> str:
    """``LSTM is a Keras layer that cnnlab does not provide (...). Instead, ...`` for an out-of-scope name."""
    keras = keras_name(name)
    subject = f"{keras} is a Keras layer" if keras == name else f"{name!r} looks like Keras's {keras}, a layer"
    return f"{subject} that cnnlab does not provide ({SCOPE}). Instead, {OUT_OF_SCOPE[keras]}."


def not_provided(name: str) -> LayerNotProvidedError:
    """The error for ``layers.<name>`` when ``name`` is out of scope."""
    return LayerNotProvidedError(f"module 'cnnlab.layers' has no attribute '{name}': {explain(name)}")
