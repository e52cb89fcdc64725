"""bp.claim: silent when the measurement backs the sentence, a clear error when it does not."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.claims import ClaimError


def test_a_backed_claim_passes_silently(capsys):
    assert bp.claim(3.0 > 2.0, "three is more than two", a=3.0, b=2.0) is None
    assert bp.claim(np.float64(0.1) < 1, "a numpy comparison") is None
    assert capsys.readouterr() == ("", "")


def test_a_claim_that_fails_quotes_the_sentence_and_the_numbers():
    ratio = 3.14159
    with pytest.raises(ClaimError) as info:
        bp.claim(ratio > 10, "Adam is more than 10× faster", ratio=ratio, curve=np.array([1.0, 0.5]))
    text = str(info.value)
    assert '"Adam is more than 10× faster"' in text
    assert "ratio = 3.142" in text and "curve = [1. , 0.5]" in text
    assert isinstance(info.value, AssertionError)          # nbval and plain asserts treat it alike


def test_a_claim_without_numbers_still_explains():
    with pytest.raises(ClaimError, match="numbers that do not back it"):
        bp.claim(False, "it converges")


@pytest.mark.parametrize("condition", [np.array([True, False]), np.array([True]), "yes", 0.5, None])
def test_a_condition_that_is_not_one_bool_is_refused(condition):
    with pytest.raises(TypeError, match="single True/False"):
        bp.claim(condition, "a sentence")


def test_the_sentence_is_required():
    with pytest.raises(TypeError, match="the sentence it backs"):
        bp.claim(True, "")
