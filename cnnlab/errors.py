"""The cnnlab error family.

Every mistake a user can make raises a subclass of :class:`CnnlabError`. Each
message says what went wrong, where (layer, argument, file), what was expected
and what was received, and how to fix it. Where Python convention expects a
built-in exception, the subclass also derives from it, so ``except ValueError``
keeps working for code written against Keras.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnnlabError(Exception):
    """Base class of every error cnnlab raises on purpose."""


class ConfigError(CnnlabError, ValueError):
    """A bad argument or configuration value (layer, model, compile, fit)."""


class ArgumentTypeError(CnnlabError, TypeError):
    """An argument of the wrong Python type, or an unknown keyword argument."""


class ShapeError(CnnlabError, ValueError):
    """A tensor or array of the wrong rank or shape."""


class NotBuiltError(CnnlabError, ValueError):
    """A layer or model asked for something that exists only once it is built."""


class NoSymbolicTensorError(NotBuiltError, AttributeError):
    """``model.input``/``output`` of a model that has no symbolic tensors (a subclassed model).

    An AttributeError too, as in Keras, so ``hasattr(model, "input")`` is False instead of raising.
    """


class DataError(CnnlabError, ValueError):
    """Bad training or evaluation data: lengths, labels, NaN, dtypes."""


class DatasetNotFoundError(CnnlabError, FileNotFoundError):
    """A dataset is not on this machine and cannot be downloaded."""


class FileFormatError(CnnlabError, ValueError):
    """A file that is corrupt, truncated, foreign or unsafe."""


class UnsafeArchiveError(FileFormatError):
    """An archive member that would escape its folder, is a link or device, or would expand too far."""


class UnknownNameError(ConfigError):
    """A name (activation, initializer, optimizer, loss, ...) that does not exist."""


class NotCompiledError(CnnlabError, RuntimeError):
    """``fit``/``evaluate`` called before ``compile``."""


class TapeError(CnnlabError, RuntimeError):
    """A ``GradientTape`` used in a way TensorFlow refuses too (a second gradient from a non-persistent tape)."""


class GraphModeError(CnnlabError, NotImplementedError):
    """TensorFlow 1 graph-mode code (sessions, placeholders, ``compat.v1``): cnnlab runs eagerly, as TF2 does."""


class StrategyUnavailableError(CnnlabError, RuntimeError):
    """A distribution strategy that cannot run on this installation."""


class LaunchError(CnnlabError, RuntimeError):
    """A distributed run could not start or did not finish."""


class WorkerFailedError(LaunchError):
    """A worker process exited with an error; the launcher stopped the others."""


class RendezvousTimeoutError(LaunchError, TimeoutError):
    """Not every node joined the rendezvous within the join timeout."""


class CheckpointError(CnnlabError, OSError):
    """A checkpoint or model file could not be written."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest choice, or ``''``."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean '{lowered[match[0]]}'?" if match else ""


def unknown_name(kind: str, name: object, choices: Iterable[str], where: str = "") -> UnknownNameError:
    """Build the standard error for an unknown registry name.

    Args:
        kind: what the name is for, e.g. ``"activation"``.
        name: what the user passed.
        choices: the valid names.
        where: optional context, e.g. ``"Conv2D 'conv2d' argument activation"``.
    """
    choices = sorted(set(choices))
    prefix = f"{where}: " if where else ""
    hint = did_you_mean(str(name), choices)
    if isinstance(name, str) and name.strip().lower() == "none":
        hint = " To use no activation, pass None (without quotes) or 'linear'." if kind == "activation" else " Pass None without quotes."
    return UnknownNameError(
        f"{prefix}unknown {kind} {name!r}.{hint} Valid names: {', '.join(choices)}. Received: {kind}={name!r}"
    )
