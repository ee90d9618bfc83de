"""Look up the objects a model config names (constraints, losses, optimizers, ...).

Each such module keeps one :class:`Registry` of its built-ins. Saving writes
Keras's ``{'class_name': ..., 'config': ...}``; loading searches only that
table and the caller's ``custom_objects``, so a config never imports a module
or runs code it names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self

from cnnlab._object_registration import find_object
from cnnlab.errors import ArgumentTypeError, ConfigError, unknown_name


class ConfigObject:
    """Mixin for objects fully described by their ``get_config()``: rebuild, compare and print them by it."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Rebuild the object from :meth:`get_config` output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Registry:
    """The built-in objects of one kind, by name.

    Args:
        kind: the word for one object in messages and in ``Received: kind=...``.
        base: the class built-ins derive from; its instances pass through :meth:`get`.
        classes: the classes :meth:`deserialize` finds by exact class name.
        module: the public module, for messages (``'losses'`` -> ``losses.deserialize``).
        by_name: lower-case name -> class or factory, for :meth:`lookup`.
        names: the names listed in :meth:`lookup` errors.
        expected: what :meth:`get` accepts, said when it gets something else.
        load_aliases: lower-case name -> class, where :meth:`deserialize` looks
            when the exact class name is unknown.
        wrap: turns a plain callable given to :meth:`get` into an object;
            None refuses callables.
        allow_none: whether :meth:`get` passes None through.
    """

    def __init__(self, kind: str, base: type, *, classes: Iterable[type], module: str,
                 by_name: Mapping[str, Callable[..., Any]] | None = None, names: Iterable[str] = (),
                 expected: str = "", load_aliases: Mapping[str, type] | None = None,
                 wrap: Callable[[Callable[..., Any]], Any] | None = None, allow_none: bool = True) -> None:
        self.kind, self.base, self.expected, self.module = kind, base, expected, module
        self.classes = {cls.__name__: cls for cls in classes}
        self.by_name, self.names = dict(by_name or {}), sorted(names)
        self.load_aliases = dict(load_aliases or {})
        self.wrap, self.allow_none = wrap, allow_none

    def lookup(self, name: str, where: str = "") -> Callable[..., Any]:
        """Return the class or factory called ``name`` (case-insensitive), or raise UnknownNameError."""
        found = self.by_name.get(name.strip().lower())
        if found is None:
            raise unknown_name(self.kind, name, self.names, where)
        return found

    def get(self, identifier: Any, where: str = "") -> Any:
        """Return an object from None, a name, an instance, a subclass, a config dict or a callable."""
        if (identifier is None and self.allow_none) or isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            return self.lookup(identifier, where)()
        if isinstance(identifier, Mapping):
            return self.deserialize(identifier)
        if inspect.isclass(identifier) and issubclass(identifier, self.base):
            return identifier()
        if callable(identifier) and self.wrap is not None:
            return self.wrap(identifier)
        prefix = f"{where}: " if where else ""
        raise ArgumentTypeError(
            f"{prefix}{self.expected}; got {type(identifier).__name__}. Received: {self.kind}={identifier!r}"
        )

    def serialize(self, obj: Any) -> dict[str, Any]:
        """Return ``{'class_name': ..., 'config': ...}`` for an instance of ``base``."""
        if not isinstance(obj, self.base):
            raise ArgumentTypeError(
                f"serialize expects {_article(self.base.__name__)} {self.base.__name__}; got {type(obj).__name__}. "
                f"Received: {self.kind}={obj!r}"
            )
        return {"class_name": type(obj).__name__, "config": obj.get_config()}

    def deserialize(self, config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None,
                    from_config_kwargs: Mapping[str, Any] | None = None) -> Any:
        """Rebuild an object from :meth:`serialize` output.

        ``custom_objects`` comes first, then the built-in class names, then
        ``load_aliases``. A function found in ``custom_objects`` is returned
        as it is; a class without ``from_config`` is called with the config.
        Keras's extra keys (``module``, ``registered_name``) are ignored.
        """
        if not isinstance(config, Mapping) or "class_name" not in config:
            raise ConfigError(
                f"a saved {self.kind} must be a dict with 'class_name' and 'config'. Received: {self.kind}={config!r}"
            )
        name = str(config["class_name"])
        table = {**self.classes, **dict(custom_objects or {})}
        found = (dict(custom_objects or {}).get(name) or find_object(name, config.get("registered_name"))
                 or table.get(name) or self.load_aliases.get(name.strip().lower()))
        if found is None:
            raise unknown_name(self.kind, name, table, f"{self.module}.deserialize")
        if not inspect.isclass(found):
            return found
        kwargs = dict(config.get("config") or {})
        try:
            if hasattr(found, "from_config"):
                return found.from_config(kwargs, **(from_config_kwargs or {}))
            return found(**kwargs)
        except TypeError as err:
            raise ConfigError(
                f"{self.kind} {name!r} does not accept these arguments: {err}. Received: config={kwargs!r}"
            ) from err


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
