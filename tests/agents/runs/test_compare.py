"""evaluate.py on runs that differ: rows say what each run is, nothing is pooled across envs or
algorithms, intervals read right when negative, and no success panel shows 0 for envs without one."""
import json
import re

import numpy as np

from agents.evaluation.episodes import Episode, summarize
from agents.runs.cli import evaluate_main
from agents.runs.evaluate import RunInfo, RunReport, aggregate, comparison_figure, interval, run_labels
from agents.training.run import RunConfig, train
from tests.agents import point_goal_env

TINY = {"learning_starts": 100, "buffer_size": 500, "policy_kwargs": "dict(net_arch=[8])"}


def _train(tmp_path, env_id, algo, seed=0):
    config = RunConfig(algo=algo, env_id=env_id, n_timesteps=30, seed=seed, eval_freq=0, eval_episodes=1, save_freq=0,
                       log_folder=str(tmp_path), video_episodes=0, progress=False, params=TINY)
    return str(train(config).run.path)


def test_runs_of_different_algos_and_envs_are_labelled_and_never_pooled(tmp_path, capsys):
    runs = [_train(tmp_path, point_goal_env.ENV_ID, "sac"), _train(tmp_path, point_goal_env.ENV_ID, "td3"),
            _train(tmp_path, "Pendulum-v1", "sac")]
    out = tmp_path / "cmp"
    assert evaluate_main([*runs, "--episodes", "3", "--out", str(out), "--plot"]) == 0
    text = capsys.readouterr().out
    for algo, env in (("sac", point_goal_env.ENV_ID), ("td3", point_goal_env.ENV_ID), ("sac", "Pendulum-v1")):
        assert re.search(rf"^{algo} {env} \d{{8}}-\d{{6}}_s0: ", text, re.M), (algo, env)  # rows say what they are
    assert "| run | env | algo |" in text and "| n/a |" in text  # Pendulum reports no success
    assert "runs differ in env or algorithm: aggregated per (env, algorithm) in 3 groups, not pooled" in text
    groups = json.loads((out / "summary.json").read_text())["aggregate"]
    assert [(g["algo"], g["env_id"], g["n_runs"]) for g in groups] == [
        ("sac", point_goal_env.ENV_ID, 1), ("td3", point_goal_env.ENV_ID, 1), ("sac", "Pendulum-v1", 1)]
    assert not re.search(r"\d--\d", text)  # no '-2.60--1.64'
    assert (out / "comparison.png").stat().st_size > 0


def _report(returns, successes=None):
    successes = successes or [None] * len(returns)
    episodes = [Episode(i, r, 10, s) for i, (r, s) in enumerate(zip(returns, successes, strict=False))]
    return RunReport(None, episodes, summarize(episodes))


def test_runs_of_one_algo_on_one_env_share_an_interval_over_runs(tmp_path):
    infos = [RunInfo(tmp_path / f"2026_s{i}", "Pendulum-v1", "mpc") for i in range(3)]
    reports = [_report([-3.0, -2.0]), _report([-2.6, -2.2]), _report([-1.6, -1.7])]
    (group,) = aggregate(reports, infos, run_labels(infos), reps=2000)
    low, high = group["return_iqm_ci"]
    assert low <= group["return_iqm"] <= high < 0
    assert interval(low, high) == f"[{low:.2f}, {high:.2f}]" and interval(-2.6, -1.64) == "[-2.60, -1.64]"
    assert run_labels(infos) == [f"mpc Pendulum-v1 2026_s{i}" for i in range(3)]


def test_the_success_panel_says_n_a_instead_of_plotting_zero():
    with_success = _report([1.0, 2.0], [True, False])
    without = _report([1.0, 2.0])
    mixed = comparison_figure([with_success, without], ["a", "b"])
    success_axis = mixed.axes[1]
    points = np.concatenate([line.get_ydata() for line in success_axis.lines])
    assert 1 not in points  # run "b" (y = 1) has no success marker...
    assert any("n/a" in t.get_text() for t in success_axis.texts)  # ...it says n/a
    assert len(comparison_figure([without, without], ["a", "b"]).axes) == 1  # no success anywhere: no panel
