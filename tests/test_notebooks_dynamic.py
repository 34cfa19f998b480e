"""Chapter 1 (dynamic images) runs end to end on the smoke profile; its glued numbers hold."""

import pytest

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued(run_notebook):
    return run_notebook("01_dynamic_images")[1]


def test_weights_facts(glued):
    assert glued["bilen_sum"] == pytest.approx(0.0, abs=1e-9)
    assert glued["learnet_sum"] == pytest.approx(glued["n_frames"])
    assert glued["learnet_w2"] == [1.0, 1.0]


def test_authors_weights_leak_appearance(glued):
    assert glued["corr_code_mean"] > 0.5 > abs(glued["corr_bilen_mean"])
    assert glued["still_bilen_max"] < 1e-6


def test_exact_vs_approximate(glued):
    assert glued["corr_smallC_approx"] > 0.9  # a lightly fitted RankSVM stays near Bilen's step
    assert glued["exact_ordered"] == 1.0  # a firmly fitted one orders every pair (Eq. 2)
    assert 0.5 <= glued["approx_ordered"] <= 1.0
    assert glued["exact_slowdown"] > 10
