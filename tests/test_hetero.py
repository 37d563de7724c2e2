"""Two-pool (heterogeneous prefill/decode) identities (tokenfab.perf.hetero)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import TokenfabError
from tokenfab.perf import hetero as ht


def test_same_accelerator_in_both_pools_matches_the_disaggregated_identity():
    # one accelerator type in both pools at W watts: J = W (r/X_p + 1/X_d) = W / X, where
    # X = 1/(1/X_d + r/X_p) is serving.disaggregated_state's per-accelerator output rate;
    # e.g. r = 20, X_p = 50,000, X_d = 2,000: X = 1/(5e-4 + 4e-4) = 1,111.1 tok/s, 700 W: 0.63 J
    j, share = ht.two_pool_joules_per_output_token(20, 50_000, 700, 2_000, 700)
    assert_allclose(j, 700 / (1 / (1 / 2_000 + 20 / 50_000)), rtol=1e-12)
    assert_allclose(j, 0.63, rtol=1e-12)
    assert_allclose(share, 4e-4 / 9e-4, rtol=1e-12)


def test_break_even_power_spends_exactly_the_budget():
    # at the break-even decode power the two pools spend the budget exactly
    jp, _ = ht.two_pool_joules_per_output_token(20, 133_930, 2_300, 1.0, 1.0)
    w = ht.break_even_decode_w(2.0, float(jp) - 1.0, 8_000)  # jp - 1 J: the 1/1 decode term
    j, _ = ht.two_pool_joules_per_output_token(20, 133_930, 2_300, 8_000, w)
    assert_allclose(j, 2.0, rtol=1e-12)


def test_vector_equals_scalar():
    xd = np.array([500.0, 1_000.0, 8_000.0])
    j, s = ht.two_pool_joules_per_output_token(20, 1e5, 2_000, xd, 500)
    for k, x in enumerate(xd):
        jk, sk = ht.two_pool_joules_per_output_token(20, 1e5, 2_000, float(x), 500)
        assert_allclose(j[k], jk, rtol=1e-12)
        assert_allclose(s[k], sk, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prefill_w": 0.0}, "prefill_w"),
        ({"decode_output_tok_s_per_accelerator": -1.0}, "decode_output_tok_s_per_accelerator"),
        ({"prompt_per_output_token": float("nan")}, "prompt_per_output_token"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = {
        "prompt_per_output_token": 20,
        "prefill_prompt_tok_s_per_accelerator": 1e5,
        "prefill_w": 2_000,
        "decode_output_tok_s_per_accelerator": 1_000,
        "decode_w": 500,
        **kwargs,
    }
    with pytest.raises(TokenfabError, match=rf"^{field}:"):
        ht.two_pool_joules_per_output_token(**args)
