"""Frozen, validated descriptions.

A description is a frozen dataclass deriving from :class:`Spec`. Construction coerces each field
to its annotated type (``int``, ``float``, ``str``, ``bool``, ``Literal``, tuples, nested specs,
optional values) and then calls :meth:`Spec.validate`; a bad value raises
:class:`~memspice.errors.SpecError` naming the field, the value and what was expected.
:meth:`Spec.from_dict` additionally rejects unknown keys, so a typo in a TOML file fails at once.

Fields are declared with :func:`param`, which records a one-line doc and the unit, and physical
fields carry their unit in their name (``r_on_ohm``, ``t_stop_s``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin

from memspice.errors import InputError, SpecError

_MISSING = dataclasses.MISSING

# -- the one rule for text that reaches a deck -------------------------------------------------
# Every str anywhere in a spec (fields, list items, table keys and values) is free of line breaks
# and control characters: a newline in a name would add lines (".control / shell ...") to a deck.
# Fields declared with ``param(..., safe="name")`` or ``safe="vector"`` must also match a strict
# SPICE-safe pattern (names become node, element, parameter and file names).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
#: names (cards, plans, groups, measurements, devices, parameters): no spaces, no path separators
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")
#: ngspice vectors: v(out), v(a,b), i(vdd), @m1[id], v1#branch, v(x1.n2)
SAFE_VECTOR = re.compile(r"[A-Za-z0-9_@#][A-Za-z0-9_.@#:\[\](),+-]{0,199}")
_SAFE = {
    "name": (SAFE_NAME, "a name of letters, digits, '_', '.', '+' or '-' (not starting with '.', '+' or '-'; "
             "at most 100 characters)"),
    "vector": (SAFE_VECTOR, "an ngspice vector such as v(out), i(vdd) or @m1[id] (letters, digits, _.@#:[](),+-; "
               "no spaces)"),
}
TEXT_EXPECTED = "text without line breaks or control characters"

#: the largest Monte Carlo sample or device count any command accepts (memory grows with it)
MAX_SAMPLES = 100_000
#: the largest count of devices programmed one by one in ngspice (write-verify per device)
MAX_DEVICES = 10_000


class FrozenDict(dict):
    """A read-only dict for spec fields: hashable, picklable (unlike ``MappingProxyType``)."""

    def _readonly(self, *args: Any, **kwargs: Any) -> typing.NoReturn:
        raise TypeError("spec mappings are read-only; use Spec.replace()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((k, _hashable(v)) for k, v in self.items())))

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def param(default: Any = _MISSING, doc: str = "", unit: str | None = None, *, safe: str | None = None,
          finite: bool = True, **kwargs: Any) -> Any:
    """Declare a spec field with a one-line ``doc`` and its ``unit`` (None for dimensionless).

    ``safe``: ``"name"`` or ``"vector"`` holds the field's text (or list items) to the strict
    SPICE-safe pattern. ``finite=False`` lets the field's numbers be infinite (never NaN).
    """
    if safe is not None and safe not in _SAFE:
        raise TypeError(f"safe must be one of {', '.join(_SAFE)}")
    metadata = {"doc": doc, "unit": unit, "safe": safe, "finite": finite}
    if default is _MISSING:
        return dataclasses.field(metadata=metadata, **kwargs)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or a Mapping-free default for spec fields")
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base class of every description. Subclasses are ``@dataclass(frozen=True)``."""

    #: Key used for this spec when it is a section of a TOML file (informational).
    section: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):
            raw = getattr(self, f.name)
            value = _coerce(raw, hints[f.name], f.name)
            _check_plain(value, f.name, f.metadata.get("safe"), f.metadata.get("finite", True))
            if value is not raw:
                object.__setattr__(self, f.name, value)
        self.validate()

    # -- to override -------------------------------------------------------------------------
    def validate(self) -> None:
        """Check cross-field rules; raise :class:`SpecError` through :func:`fail`."""

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "", source: str | None = None) -> Self:
        """Build from a mapping (e.g. a parsed TOML table); unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise SpecError(where or cls.__name__, data, f"a table of {cls.__name__} fields", source=source)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        for key in data:
            if key not in names:
                field = f"{where}.{key}" if where else str(key)
                raise SpecError(field, data[key], f"one of the known keys: {', '.join(sorted(names))}",
                                source=source)
        missing = [
            f.name for f in dataclasses.fields(cls)
            if f.init and f.name not in data and f.default is _MISSING and f.default_factory is _MISSING
        ]
        if missing:
            field = f"{where}.{missing[0]}" if where else missing[0]
            raise SpecError(field, None, f"a value ({_describe_field(cls, missing[0])})", source=source)
        hints = _type_hints(cls)
        kwargs = {}
        for key, value in data.items():
            sub = f"{where}.{key}" if where else key
            kwargs[key] = _from_plain(value, hints[key], sub, source)
        try:
            return cls(**kwargs)
        except SpecError as err:
            raise err.within(where or None, source) from None

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, Any], *, where: str = "") -> Self:
        """A copy with dotted-path overrides (``{"cell.r_on_ohm": 2e3}``) applied and validated."""
        data = self.to_dict()
        for path, value in overrides.items():
            node = data
            parts = path.split(".")
            for depth, part in enumerate(parts):
                if not isinstance(node, dict) or part not in node:
                    known = ", ".join(sorted(node)) if isinstance(node, dict) else "(none)"
                    field = ".".join(parts[: depth + 1])
                    raise SpecError(f"{where}.{field}" if where else field, value,
                                    f"a known parameter name: {known}")
                if depth == len(parts) - 1:
                    node[part] = value
                else:
                    node = node[part]
        return type(self).from_dict(data, where=where)

    # -- export ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data (dicts, lists, numbers, strings), suitable for TOML or JSON."""
        return {f.name: _to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def hash_data(self) -> dict[str, Any]:
        """What :meth:`spec_hash` covers: every field (a subclass may leave out a field while it is at a
        default that existed before the field did, so that older hashes stay valid)."""
        return self.to_dict()

    def spec_hash(self) -> str:
        """A short, stable hash of the description (16 hex digits of SHA-256 of canonical JSON)."""
        text = json.dumps({"type": type(self).__name__, "spec": self.hash_data()}, sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def field_docs(cls) -> dict[str, tuple[str, str | None]]:
        """``{field: (doc, unit)}`` for documentation and CLI help."""
        return {f.name: (f.metadata.get("doc", ""), f.metadata.get("unit")) for f in dataclasses.fields(cls)}


def fail(field: str, value: object, expected: str) -> typing.NoReturn:
    """Raise a :class:`SpecError` (helper for ``validate`` methods)."""
    raise SpecError(field, value, expected)


def check(condition: bool, field: str, value: object, expected: str) -> None:
    """Raise a :class:`SpecError` unless ``condition`` holds."""
    if not condition:
        raise SpecError(field, value, expected)


def check_positive(field: str, value: float, unit: str = "") -> None:
    check(value > 0, field, value, f"a positive value{(' in ' + unit) if unit else ''}")


def check_nonnegative(field: str, value: float, unit: str = "") -> None:
    check(value >= 0, field, value, f"a value >= 0{(' in ' + unit) if unit else ''}")


def check_range(field: str, value: float, low: float, high: float, unit: str = "") -> None:
    check(low <= value <= high, field, value, f"a value from {low:g} to {high:g}{(' ' + unit) if unit else ''}")


def check_text(field: str, value: str) -> None:
    """Text that may reach a deck: no line breaks or control characters."""
    if _CONTROL_CHARS.search(value):
        raise SpecError(field, value, TEXT_EXPECTED)


def check_name(field: str, value: str, kind: str = "name") -> None:
    """``value`` matches the strict SPICE-safe pattern of ``kind`` ("name" or "vector")."""
    pattern, expected = _SAFE[kind]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SpecError(field, value, expected)


def check_count(field: str, value: int, high: int, low: int = 1, what: str = "") -> None:
    """A count within ``low..high``; the message states the limit."""
    check(low <= value <= high, field, value,
          f"an integer from {low} to {high:,}{(' (' + what + ')') if what else ''}")


def _check_plain(value: Any, field: str, safe: str | None, finite: bool) -> None:
    """The generic rules every field obeys: text one line (and safe where declared), numbers finite."""
    if isinstance(value, str):
        check_text(field, value)
        if safe is not None:
            check_name(field, value, safe)
    elif isinstance(value, float):
        if not finite and not math.isnan(value):
            return
        check(math.isfinite(value), field, value, "a finite number")
    elif isinstance(value, (tuple, list)):
        for k, item in enumerate(value):
            _check_plain(item, f"{field}[{k}]", safe, finite)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if _CONTROL_CHARS.search(str(key)):
                raise SpecError(field, key, "table keys without line breaks or control characters")
            _check_plain(item, f"{field}.{key}", None, finite)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable or malformed file is an :class:`InputError` naming it."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a TOML file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied (cannot read it)") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {err.start}); TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None


def load_spec(cls: type[Spec], path: str | Path, *, section: str | None = None) -> Spec:
    """Load ``cls`` from a TOML file (optionally from one table of it)."""
    data = read_toml(path)
    if section is not None:
        if section not in data:
            raise SpecError(section, None, f"a [{section}] table", source=str(path))
        data = data[section]
    return cls.from_dict(data, where=section or "", source=str(path))


# -- type coercion ---------------------------------------------------------------------------

_HINTS_CACHE: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS_CACHE:
        _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return _HINTS_CACHE[cls]


def _describe_field(cls: type, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            unit = f.metadata.get("unit")
            doc = f.metadata.get("doc") or name
            return f"{doc}{', in ' + unit if unit else ''}"
    return name


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        inner = _type_name(args[0]) if args else "values"
        return f"a list of {inner}"
    if tp is type(None):
        return "nothing"
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if isinstance(tp, type) and issubclass(tp, Spec):
        return f"a {tp.__name__} table"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, field: str) -> Any:
    """Coerce a constructor argument to ``tp`` or raise SpecError."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, field)
            except SpecError:
                continue
        raise SpecError(field, value, _type_name(tp))
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise SpecError(field, value, _type_name(tp))
    if origin is tuple:
        args = get_args(tp)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise SpecError(field, value, _type_name(tp))
        items = list(value)
        if len(args) == 2 and args[1] is Ellipsis:
            out = tuple(_coerce(v, args[0], f"{field}[{i}]") for i, v in enumerate(items))
        else:
            if len(items) != len(args):
                raise SpecError(field, value, f"a list of {len(args)} values")
            out = tuple(_coerce(v, a, f"{field}[{i}]") for i, (v, a) in enumerate(zip(items, args, strict=True)))
        return value if isinstance(value, tuple) and all(a is b for a, b in zip(out, value, strict=True)) else out
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise SpecError(field, value, "a table")
        args = get_args(tp)
        if args:
            return FrozenDict({str(k): _coerce(v, args[1], f"{field}.{k}") for k, v in value.items()})
        return FrozenDict({str(k): _freeze(v) for k, v in value.items()})
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SpecError(field, value, "true or false")
    if tp is int:
        if isinstance(value, bool):
            raise SpecError(field, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SpecError(field, value, "an integer")
    if tp is float:
        if isinstance(value, bool):
            raise SpecError(field, value, "a number")
        if isinstance(value, (int, float)) or _is_numpy_number(value):
            out = value if type(value) is float else float(value)
            if math.isnan(out):
                raise SpecError(field, value, "a number (not NaN)")
            return out
        raise SpecError(field, value, "a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise SpecError(field, value, "a string")
    if isinstance(tp, type) and issubclass(tp, Spec):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return tp.from_dict(value, where=field)
        raise SpecError(field, value, _type_name(tp))
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise SpecError(field, value, _type_name(tp))


def _freeze(value: Any) -> Any:
    """Nested plain data made read-only (tables become FrozenDict, lists tuples)."""
    if isinstance(value, Mapping):
        return FrozenDict({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _is_numpy_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf"


def _from_plain(value: Any, tp: Any, field: str, source: str | None) -> Any:
    """Turn plain data (from TOML/JSON) into constructor arguments for ``tp``."""
    if isinstance(tp, type) and issubclass(tp, Spec) and isinstance(value, Mapping):
        return tp.from_dict(value, where=field, source=source)
    origin = get_origin(tp)
    if origin is tuple and isinstance(value, list):
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(v, args[0], f"{field}[{i}]", source) for i, v in enumerate(value))
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if isinstance(arg, type) and issubclass(arg, Spec) and isinstance(value, Mapping):
                return arg.from_dict(value, where=field, source=source)
    return value


def _to_plain(value: Any) -> Any:
    if isinstance(value, Spec):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value
