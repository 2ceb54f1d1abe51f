"""IQM and its interval are rliable's, draw for draw; Wilson intervals are sane at the edges.

The reference numbers come from rliable 1.2.0 itself (with arch 7.2.0, numpy 2.4.6, pandas 2.3.3:
rliable's import fails with pandas 3), so it is not a dependency of ours:

    np.random.seed(0)
    rly.get_interval_estimates({"x": scores}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=50000)
"""
import numpy as np
import pytest

from agents.evaluation.statistics import bootstrap_ci, iqm, stratified_bootstrap_ci, wilson_interval

FIVE_RUNS_THREE_TASKS = np.array([[0.012, 2.987, -2.741], [-8.906, -4.547, -9.916], [0.601, 13.402, -4.922],
                                  [-6.205, 4.898, 3.569], [1.054, -9.305, -0.293]])
SEVEN_RUNS = np.array([-9.57, -40.163, -26.864, -48.518, -39.343, -47.626, -23.526])
RLIABLE = {  # (scores, statistic): (point estimate, 95% CI)
    ("5x3", "iqm"): (-1.5615555555555556, (-5.1216166666666645, 1.3437777777777777)),
    ("5x3", "mean"): (-1.3541333333333334, (-4.21655, 1.5594666666666661)),
    ("7x1", "iqm"): (-35.5044, (-44.8192, -21.938599999999997)),
    ("7x1", "mean"): (-33.65857142857143, (-42.79285714285715, -23.439714285714285)),
    ("2x1", "iqm"): (-24.45, (-46.8, -2.1)),
}
SCORES = {"5x3": FIVE_RUNS_THREE_TASKS, "7x1": SEVEN_RUNS[:, None], "2x1": np.array([[-46.8], [-2.1]])}
STATISTICS = {"iqm": iqm, "mean": np.mean}


@pytest.mark.parametrize("case", sorted(RLIABLE))
def test_point_estimate_and_interval_equal_rliables(case):
    scores, statistic = SCORES[case[0]], STATISTICS[case[1]]
    point, (low, high) = RLIABLE[case]
    assert float(statistic(scores)) == pytest.approx(point, abs=1e-12)
    assert stratified_bootstrap_ci(scores, statistic, seed=0) == pytest.approx((low, high), abs=1e-9)


def test_runs_are_resampled_within_each_task_only():
    """Task columns never mix: a task whose runs all score 5 stays 5 in every replicate."""
    scores = np.stack([np.full(6, 5.0), np.arange(6.0)], axis=1)
    low, high = stratified_bootstrap_ci(scores, lambda m: float(m[:, 0].mean()), reps=200)
    assert low == high == 5.0


def test_iqm_trims_a_quarter_each_side():
    assert iqm(np.arange(1, 9)) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm([1.0, 1.0, 1.0, 100.0]) == 1.0  # robust to an outlier
    with pytest.raises(ValueError, match="no scores"):
        iqm([])


def test_episode_bootstrap_narrows_with_more_episodes():
    episodes = np.random.default_rng(0).normal(10, 2, size=200)
    low, high = bootstrap_ci(episodes)
    wide = bootstrap_ci(episodes[:10])
    assert low < episodes.mean() < high and wide[1] - wide[0] > high - low


def test_wilson_interval_is_sane_at_the_edges():
    assert wilson_interval(0, 20)[0] == 0.0 and 0.1 < wilson_interval(0, 20)[1] < 0.2
    assert wilson_interval(20, 20)[1] == 1.0
    low, high = wilson_interval(10, 20)
    assert low < 0.5 < high and high - low < 0.45
    with pytest.raises(ValueError, match="trials must be > 0"):
        wilson_interval(0, 0)
