"""TOPSIS and Pareto against the reference cases of issue 8 (pymcdm 1.4.0 for TOPSIS) and their edge rules."""

import numpy as np
import pytest

from benchmark_pipeline.lib.analytics.pareto import MAXIMIZE, MINIMIZE, pareto_front
from benchmark_pipeline.lib.analytics.topsis import BENEFIT, COST, topsis

PYMCDM_MATRIX = [[12, 2400, 4.10, 700], [9, 3900, 6.98, 700], [35, 800, 0.81, 72], [60, 350, 0.53, 70]]
PYMCDM_TYPES = [COST, BENEFIT, COST, COST]
PYMCDM_WEIGHTS = [0.4, 0.3, 0.2, 0.1]
PYMCDM_SCORES = [0.679197, 0.682811, 0.468326, 0.317189]


def test_topsis_matches_pymcdm_vector_normalization():
    result = topsis(PYMCDM_MATRIX, PYMCDM_WEIGHTS, PYMCDM_TYPES)
    np.testing.assert_allclose(result.scores, PYMCDM_SCORES, atol=1e-6)
    assert result.ranks.tolist() == [2, 1, 3, 4]
    assert result.kept.all()


def test_topsis_drops_incomplete_criterion_and_renormalises():
    with_gap = np.column_stack([np.array(PYMCDM_MATRIX, dtype=float), [1.0, np.nan, 3.0, 4.0]])
    result = topsis(with_gap, PYMCDM_WEIGHTS + [0.5], PYMCDM_TYPES + [COST])
    np.testing.assert_allclose(result.scores, PYMCDM_SCORES, atol=1e-6)
    assert result.kept.tolist() == [True, True, True, True, False]
    # renormalising is what makes unnormalised weights equivalent
    scaled = topsis(PYMCDM_MATRIX, [w * 7 for w in PYMCDM_WEIGHTS], PYMCDM_TYPES)
    np.testing.assert_allclose(scaled.scores, PYMCDM_SCORES, atol=1e-6)


def test_topsis_single_candidate_and_ties():
    single = topsis([[3.0, 100.0]], [0.5, 0.5], [COST, BENEFIT])
    assert single.scores.tolist() == [1.0] and single.ranks.tolist() == [1]
    same = topsis([[3.0, 100.0], [3.0, 100.0]], [0.5, 0.5], [COST, BENEFIT])
    assert same.scores.tolist() == [1.0, 1.0] and same.ranks.tolist() == [1, 1]
    nothing = topsis([[np.nan], [1.0]], [1.0], [COST])
    assert np.isnan(nothing.scores).all() and nothing.ranks.tolist() == [0, 0]


def test_topsis_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        topsis(PYMCDM_MATRIX, [0.5, 0.5], PYMCDM_TYPES)


def test_pareto_reference_case():
    price = [50, 53, 62, 87, 83, 39, 60, 44]
    distance = [13, 21, 19, 13, 5, 22, 22, 25]
    front = pareto_front(np.column_stack([price, distance]))
    assert np.flatnonzero(front).tolist() == [0, 4, 5]


def test_pareto_senses_and_duplicates():
    # throughput maximised: the second row is better on both
    assert pareto_front([[10, 100], [5, 200]], [MINIMIZE, MAXIMIZE]).tolist() == [False, True]
    assert pareto_front([[1, 1], [1, 1], [2, 2]]).tolist() == [True, True, False]
    with pytest.raises(ValueError):
        pareto_front([[1, np.nan]])
