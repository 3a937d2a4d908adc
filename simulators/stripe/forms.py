"""Stripe's form encoding read back: `a[b][0][c]=v` and `expand[]=x` become nested dicts
and lists, and typed getters that answer Stripe's 400s naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import invalid, missing_param

_LIST = "\0list"
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode(pairs: Iterable[tuple[str, str]]) -> dict:
    """Nest flattened keys; numeric and empty brackets make lists (in index order)."""
    root: dict = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for index, part in enumerate(parts):
            if part == "":
                part = str(sum(1 for key in node if key != _LIST))
            if index == len(parts) - 1:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            following = parts[index + 1]
            if following == "" or following.isdigit():
                child[_LIST] = True
            node = child
    return _nest(root)


def _nest(node):
    if not isinstance(node, dict):
        return node
    as_list = node.pop(_LIST, False) and all(key.isdigit() for key in node)
    if as_list:
        return [_nest(node[key]) for key in sorted(node, key=int)]
    return {key: _nest(value) for key, value in node.items()}


class Params:
    """The decoded parameters of one request, read with the checks Stripe makes."""

    def __init__(self, data: dict, prefix: str = ""):
        self.data = data
        self.prefix = prefix

    def name(self, name: str) -> str:
        """The parameter's full name as Stripe reports it, e.g. `recurring[interval]`."""
        return f"{self.prefix}[{name}]" if self.prefix else name

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default=None):
        return self.data.get(name, default)

    def string(
        self, name: str, *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(name))
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {name}", param=self.name(name))
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None, value=None
    ) -> int | None:
        value = self.data.get(name) if value is None else value
        if value is None or value == "":
            if required:
                raise missing_param(self.name(name))
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(f"Invalid integer: {value}", param=self.name(name)) from None
        if minimum is not None and number < minimum:
            raise invalid(f"Invalid {name}: must be at least {minimum}", param=self.name(name))
        return number

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if value in ("true", True):
            return True
        if value in ("false", False):
            return False
        raise invalid(f"Invalid boolean: {value}", param=self.name(name))

    def choice(self, name: str, choices: tuple[str, ...], *, required=False, default=None):
        value = self.string(name, required=required, default=default)
        if value is not None and value not in choices:
            raise invalid(
                f"Invalid {name}: must be one of {', '.join(choices)}", param=self.name(name)
            )
        return value

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise invalid(f"Invalid array: {name}", param=self.name(name))

    def mapping(self, name: str) -> dict:
        value = self.data.get(name)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {name}", param=self.name(name))
        return value

    def sub(self, name: str) -> Params:
        return Params(self.mapping(name), self.name(name))

    def metadata(self, name: str = "metadata", current: dict | None = None) -> dict:
        """Stripe's metadata update: keys merge in, an empty value removes its key, an
        empty `metadata` clears everything."""
        merged = dict(current or {})
        if self.data.get(name) == "":
            return {}
        for key, value in self.mapping(name).items():
            if not isinstance(value, str):
                raise invalid(f"Invalid metadata value for {key}",
                              param=f"{self.name(name)}[{key}]")
            if len(key) > 40 or len(value) > 500:
                raise invalid("Metadata keys are at most 40 and values at most 500 characters",
                              param=f"{self.name(name)}[{key}]")
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        if len(merged) > 50:
            raise invalid("Metadata has at most 50 keys", param=self.name(name))
        return merged
