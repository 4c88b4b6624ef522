from dataclasses import dataclass
from typing import Literal

import pytest

from memspice.errors import SpecError
from memspice.spec.base import Spec, check_positive, param

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Inner(Spec):
    r_ohm: float = param(1.0, "a resistance", "ohm")

    def validate(self):
        check_positive("r_ohm", self.r_ohm, "ohm")


@dataclass(frozen=True)
class Outer(Spec):
    rows: int = param(doc="rows")
    mode: Literal["a", "b"] = param("a", "mode")
    values: tuple[float, ...] = param((), "values", "V")
    inner: Inner = param(doc="inner", default_factory=Inner)


def test_coercion_and_defaults():
    spec = Outer.from_dict({"rows": 3.0, "values": [1, 2.5], "inner": {"r_ohm": 2}})
    assert spec.rows == 3 and isinstance(spec.rows, int)
    assert spec.values == (1.0, 2.5)
    assert spec.inner.r_ohm == 2.0
    assert spec.mode == "a"


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"rows": 3, "colums": 4}, "colums", "one of the known keys"),
        ({"rows": "three"}, "rows", "an integer"),
        ({"rows": 3, "mode": "c"}, "mode", "one of 'a', 'b'"),
        ({"rows": 3, "inner": {"r_ohm": -1}}, "inner.r_ohm", "a positive value in ohm"),
        ({"rows": 3, "inner": {"r": 1}}, "inner.r", "known keys"),
        ({}, "rows", "a value"),
        ({"rows": True}, "rows", "an integer"),
        ({"rows": 3, "values": [1, "x"]}, "values[1]", "a number"),
    ],
)
def test_errors_name_the_field(data, field, expected):
    with pytest.raises(SpecError) as info:
        Outer.from_dict(data, source="spec.toml")
    err = info.value
    assert err.field == field
    assert expected in str(err)
    assert str(err).startswith("spec.toml: ")


def test_nan_is_refused():
    with pytest.raises(SpecError, match="not NaN"):
        Inner(r_ohm=float("nan"))


def test_overrides_and_hash():
    spec = Outer.from_dict({"rows": 3})
    changed = spec.with_overrides({"inner.r_ohm": 5.0, "rows": 4})
    assert changed.inner.r_ohm == 5.0 and changed.rows == 4
    assert changed.spec_hash() != spec.spec_hash()
    assert Outer.from_dict({"rows": 3}).spec_hash() == spec.spec_hash()
    with pytest.raises(SpecError, match="known parameter name"):
        spec.with_overrides({"inner.nope": 1})


def test_frozen():
    spec = Inner()
    with pytest.raises(AttributeError):
        spec.r_ohm = 3.0  # type: ignore[misc]
