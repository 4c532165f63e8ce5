"""PRDC at ties: a ball reaches to its k-th nearest neighbour, so a point exactly on the radius is inside.

Integer coordinates keep every distance exact in float64 (squares of small
integers, square roots of perfect squares), so the ties below are real ties.
With the strict rule (``<``) every value here would be different.
"""

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.metric.prdc import density_coverage, knn_radii, prdc, precision_recall

REAL = np.array([[0.0], [1.0], [2.0], [3.0]])   # k=1 radii: 1, 1, 1, 1
FAKE = np.array([[4.0], [6.0]])                 # k=1 radii: 2, 2


def test_knn_radii_exact_with_tied_neighbours():
    x = np.array([[0.0], [1.0], [-1.0], [3.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 1.0, 2.0]
    assert knn_radii(x, 2).tolist() == [1.0, 2.0, 2.0, 3.0]  # the point itself is not its own neighbour
    assert knn_radii(x, 3).tolist() == [3.0, 2.0, 4.0, 4.0]
    pts = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 5.0]])  # 3-4-5 triangles: exact distances
    assert knn_radii(pts, 1).tolist() == [5.0, 3.1622776601683795, 5.0, 3.1622776601683795]
    assert knn_radii(pts, 2).tolist() == [5.0, 5.0, 6.708203932499369, 5.0]
    with pytest.raises(UserError, match=r"k must be a whole number in \[1, 3\]"):
        knn_radii(x, 4)
    with pytest.raises(UserError):
        knn_radii(x, 0)


def test_precision_recall_count_points_on_the_radius_as_inside():
    # precision: fake 4 is at distance 1 from real 3, whose radius is 1 (a tie: inside); fake 6 is at 3 (outside)
    # recall: real 2 is at distance 2 from fake 4, whose radius is 2 (a tie: inside); real 3 at 1 (inside);
    # real 0 and 1 at 4 and 3 (outside)
    assert precision_recall(REAL, FAKE, k=1) == (0.5, 0.5)


def test_density_coverage_count_points_on_the_radius_as_inside():
    # density: fake 4 lies in one real ball (real 3's, on its radius), fake 6 in none: 1 / (k * 2)
    # coverage: real 3's nearest fake is at 1 = its radius (covered); the others' are farther
    assert density_coverage(REAL, FAKE, k=1) == (0.5, 0.25)
    # k=2: real radii 2, 1, 1, 2: fake 4 is inside real 3's ball only (|4-2| = 2 > 1), fake 6 in none
    assert knn_radii(REAL, 2).tolist() == [2.0, 1.0, 1.0, 2.0]
    assert density_coverage(REAL, FAKE, k=2) == (0.25, 0.25)


def test_two_dimensional_ties_and_prdc_keys():
    real = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 10.0]])   # k=1 radii: 5, 5, 5, sqrt(40)
    fake = np.array([[-3.0, -4.0], [0.0, 0.0], [9.0, 12.0], [20.0, 20.0]])
    # fake (-3,-4): 5 from real (0,0), radius 5: inside. (0,0): a real point. (9,12): 5 from (6,8): inside.
    # (20,20): far. precision 3/4.
    # fake k=1 radii: 5, 5, sqrt(481)... (9,12)'s nearest fake is (0,0) at 15; (20,20)'s is (9,12) at sqrt(185)
    # recall: real (0,0) is a fake point; (3,4) 5 from fake (0,0) whose radius is 5: inside; (6,8) 5 from (9,12)
    # whose radius is 15: inside; (0,10) 10 from (0,0) (radius 5), sqrt(85) from (9,12) (radius 15): inside.
    assert precision_recall(real, fake, k=1) == (0.75, 1.0)
    # density: (-3,-4) in (0,0)'s ball; (0,0) in its own ((0,0), 0 <= 5) and (3,4)'s (5 <= 5): 2 balls;
    # (9,12) in (6,8)'s; (20,20) none -> 4 / (1 * 4) = 1
    # coverage: nearest fake of (0,0) 0, (3,4) 5 (radius 5), (6,8) 5 (radius 5), (0,10) 10 > sqrt(40): 3/4
    assert density_coverage(real, fake, k=1) == (1.0, 0.75)
    out = prdc(real, fake, k_pr=1, k_dc=1)
    assert out == {"precision": 0.75, "recall": 1.0, "density": 1.0, "coverage": 0.75}
    assert list(out) == ["precision", "recall", "density", "coverage"]
