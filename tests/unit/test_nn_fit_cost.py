"""evaluate's estimate of its remaining converter fits (issue 16): which fits, in which order, and the
projection from the first fit of each kind (a fake fitter on a fake clock: no wall time asserted)."""

from __future__ import annotations

import pytest

from memspice.nn import fit_cost
from memspice.nn.fit_cost import fit_cost as cost
from memspice.nn.fit_cost import fit_estimate, needed_fits

pytestmark = pytest.mark.unit


def test_needed_fits_in_first_use_order_with_lloyd_max_before_the_variation_aware_fit():
    keys = needed_fits([3, 4], ["uniform_minmax", "variation_aware"], 0.02, [4], [4],
                       ["lloyd_max", "variation_aware"], [0.01, 0.02])
    assert keys == [("uniform_minmax", 3, 0.0), ("lloyd_max", 3, 0.0), ("variation_aware", 3, 0.02),
                    ("uniform_minmax", 4, 0.0), ("lloyd_max", 4, 0.0), ("variation_aware", 4, 0.02),
                    ("variation_aware", 4, 0.01)]


class _FakeFitter:
    """Each fit of kind k at b bits takes SECONDS[k] * fit_cost(k, b) on the fake clock."""

    def __init__(self, clock, done=()):
        self.SECONDS = {"lloyd_max": 0.01, "variation_aware": 0.1}
        self.clock, self.done, self.made = clock, set(done), []

    def has(self, kind, bits, sigma=0.0):
        return (kind, bits, sigma) in self.done

    def fits(self, kind, bits, sigma=0.0):
        self.clock[0] += self.SECONDS[kind] * cost(kind, bits)
        self.done.add((kind, bits, sigma))
        self.made.append((kind, bits, sigma))
        return {}


def test_first_fit_of_each_kind_is_made_and_the_rest_projected(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(fit_cost.time, "monotonic", lambda: clock[0])
    keys = [("lloyd_max", 3, 0.0), ("variation_aware", 3, 0.02), ("lloyd_max", 6, 0.0),
            ("variation_aware", 6, 0.02), ("variation_aware", 6, 0.05)]
    fitter = _FakeFitter(clock, done={("lloyd_max", 3, 0.0)})
    seconds, n = fit_estimate(fitter, keys)
    assert n == 4  # the cached Lloyd-Max fit is not counted
    assert fitter.made == [("variation_aware", 3, 0.02), ("lloyd_max", 6, 0.0)]
    # exact when the fit time follows fit_cost: every remaining fit at its own cost
    want = 0.01 + 0.1 * (cost("variation_aware", 3) + 2 * cost("variation_aware", 6))
    assert seconds == pytest.approx(want, rel=1e-12)
    va = cost("variation_aware", 6) / cost("variation_aware", 4)
    assert va == pytest.approx((28.5 + 64) / (28.5 + 16))
    assert cost("uniform_clipped", 6) == cost("uniform_clipped", 3)  # a search over candidate ends
