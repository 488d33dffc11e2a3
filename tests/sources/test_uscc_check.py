"""The GB 32100-2015 check character as the validator uses it (techscore.sources.uscc)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from techscore.sources import uscc
from tests.sources.conftest import GOOD_CODE, make_codes

BODY = st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17)


def substitutions(code: str) -> list[str]:
    return [code[:i] + ch + code[i + 1:] for i in range(18) for ch in uscc.ALPHABET if ch != code[i]]


def test_public_vector_verifies() -> None:
    assert uscc.check_character(GOOD_CODE[:17]) == GOOD_CODE[17]
    assert uscc.valid_mask(pd.Series([GOOD_CODE])).tolist() == [True]


def test_completed_codes_verify() -> None:
    codes = make_codes(500, np.random.default_rng(3))
    assert uscc.valid_mask(pd.Series(codes)).all()


def test_every_substitution_of_the_public_vector_fails() -> None:
    corrupted = substitutions(GOOD_CODE)
    assert len(corrupted) == 18 * 30
    assert not uscc.valid_mask(pd.Series(corrupted)).any()


@settings(max_examples=60, deadline=None)
@given(body=BODY, data=st.data())
def test_any_single_substitution_fails(body: str, data: st.DataObject) -> None:
    code = str(uscc.complete([body])[0])
    assert uscc.is_valid(code)
    position = data.draw(st.integers(0, 17))
    other = data.draw(st.sampled_from([c for c in uscc.ALPHABET if c != code[position]]))
    assert not uscc.is_valid(code[:position] + other + code[position + 1:])


def test_malformed_codes_fail() -> None:
    lettered = str(uscc.complete(["91440300MA5FABCDE"])[0])
    assert uscc.is_valid(lettered)
    bad = [GOOD_CODE[:17], GOOD_CODE + "0", lettered.lower(), GOOD_CODE[:5] + "I" + GOOD_CODE[6:], None, ""]
    assert not uscc.valid_mask(pd.Series(bad, dtype=object)).any()


def test_one_by_one_path_agrees_with_the_vectorised_path():
    """Online requests check a handful of codes one by one; a batch column is checked vectorised: same answers."""
    import numpy as np
    import pandas as pd

    from techscore.sources import uscc

    rng = np.random.default_rng(7)
    good = list(uscc.complete(["".join(rng.choice(list(uscc.ALPHABET), 17)) for _ in range(500)]))
    wrong_check = [g[:17] + ("0" if g[17] != "0" else "1") for g in good[:200]]
    odd = [None, np.nan, pd.NA, "", "9144030019220382１6", "914403001922038216 ", 914403001922038210,
           "9144030019220382I6", "91440300192203821", "abc", [9, 1], {"a": 1}, pd.NaT, float("inf")]
    codes = pd.Series(good + wrong_check + odd, dtype=object)
    assert len(codes) > uscc._SMALL  # the column goes the vectorised way
    vectorised = uscc.valid_mask(codes)
    one_by_one = np.array([uscc.valid_mask(codes.iloc[i:i + 1])[0] for i in range(len(codes))])
    np.testing.assert_array_equal(one_by_one, vectorised)
    assert vectorised[:500].all() and not vectorised[500:].any()
