"""Planners find the optimum of a quadratic cost, batched over environments, within bounds."""
import pytest
import torch

from world_models.planners import CEMConfig, GradientConfig, MPPIConfig, make_planner

TARGETS = torch.tensor([[0.3, -0.2, 0.5], [-0.6, 0.1, 0.0]])  # one optimum per environment [E, A]


def quadratic(actions: torch.Tensor) -> torch.Tensor:
    """Negative squared distance of every step to the env's target: [E, N, H, A] -> [E, N]."""
    return -((actions - TARGETS[:, None, None]) ** 2).sum(dim=(-1, -2))


@pytest.mark.parametrize("name, config", [
    ("cem", dict(horizon=4, num_candidates=200, num_elites=20, iterations=8, min_std=0.01)),
    ("mppi", dict(horizon=4, num_candidates=200, iterations=8, min_std=0.01)),
    ("gradient", dict(horizon=4, num_candidates=4, iterations=60)),
])
def test_planner_finds_quadratic_optimum_per_env(name, config):
    planner = make_planner(name, -torch.ones(3), torch.ones(3), seed=0, **config)
    result = planner.plan(quadratic, num_envs=2)
    assert result.actions.shape == (2, 4, 3)
    assert torch.allclose(result.actions, TARGETS[:, None].expand(-1, 4, -1), atol=0.08)
    assert result.score.shape == (2,) and bool((result.score > -0.05).all())


@pytest.mark.parametrize("name, config", [("cem", {}), ("mppi", {}), ("gradient", dict(learning_rate=0.5))])
def test_plans_respect_bounds_when_optimum_lies_outside(name, config):
    planner = make_planner(name, -torch.ones(2), torch.ones(2) * 0.5, horizon=3, seed=1, **config)
    result = planner.plan(lambda a: a.sum(dim=(-1, -2)), num_envs=1)  # optimum: push to the upper bound
    assert bool((result.actions <= 0.5 + 1e-6).all()) and bool((result.actions >= -1).all())
    assert torch.allclose(result.actions, torch.full_like(result.actions, 0.5), atol=0.1)


def test_cem_warm_start_reuses_shifted_plan():
    planner = make_planner("cem", -torch.ones(1), torch.ones(1), horizon=5, num_candidates=100,
                           num_elites=10, iterations=4, seed=0)
    ramp = torch.linspace(-0.8, 0.8, 5)
    def score(a):
        return -((a[..., 0] - ramp) ** 2).sum(-1)

    planner.plan(score)
    warm = planner.initial_mean(1)[0, :, 0]
    assert torch.allclose(warm[:4], ramp[1:], atol=0.1)  # shifted previous plan
    assert warm[4].item() == 0.0  # padded with the action midpoint
    planner.reset()
    assert bool((planner.initial_mean(1) == 0).all())


@pytest.mark.parametrize("name", ["cem", "mppi"])
def test_a_warm_start_of_another_horizon_is_dropped_on_load(name):
    """A planner saved with horizon 3 loads into one of horizon 1 (acting with a shorter look-ahead)."""
    saved = make_planner(name, -torch.ones(3), torch.ones(3), horizon=3, seed=0)
    saved.plan(quadratic, num_envs=2)
    shorter = make_planner(name, -torch.ones(3), torch.ones(3), horizon=1, seed=0)
    shorter.load_state_dict(saved.state_dict())
    assert bool((shorter.initial_mean(2) == 0).all())  # no warm start, the stream restored
    assert shorter.plan(quadratic, num_envs=2, proposals=torch.zeros(2, 4, 1, 3)).actions.shape == (2, 1, 3)
    same = make_planner(name, -torch.ones(3), torch.ones(3), horizon=3, seed=0)
    same.load_state_dict(saved.state_dict())
    assert torch.equal(same.initial_mean(2), saved.initial_mean(2))  # the same horizon keeps it


def test_same_seed_same_plan_and_bad_input_is_named():
    plans = [make_planner("mppi", -torch.ones(2), torch.ones(2), seed=7).plan(quadratic_one).actions
             for _ in range(2)]
    assert torch.equal(plans[0], plans[1])
    with pytest.raises(ValueError, match="unknown planner 'ilqr'.*cem"):
        make_planner("ilqr", -torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="unknown cem planner option.*horizn"):
        make_planner("cem", -torch.ones(2), torch.ones(2), horizn=3)
    with pytest.raises(ValueError, match=r"score_fn must return \[E, N\]"):
        make_planner("cem", -torch.ones(2), torch.ones(2)).plan(lambda a: a.sum(-1))


def quadratic_one(actions: torch.Tensor) -> torch.Tensor:
    return -((actions - 0.25) ** 2).sum(dim=(-1, -2))


def test_configs_are_frozen_dataclasses():
    for config in (CEMConfig(), MPPIConfig(), GradientConfig()):
        with pytest.raises(AttributeError):
            config.horizon = 3


def test_discrete_cem_finds_the_best_index_sequence():
    from world_models.discrete_planning import DiscreteCEMConfig, DiscreteCEMPlanner
    target = torch.tensor([[0.0, 3.0, 1.0, 2.0], [2.0, 2.0, 0.0, 3.0]])  # best action per step, per env
    planner = DiscreteCEMPlanner(4, DiscreteCEMConfig(horizon=4, num_candidates=100, num_elites=10), seed=0)
    result = planner.plan(lambda a: -((a[..., 0] - target[:, None]) ** 2).sum(-1), num_envs=2)
    assert torch.equal(result.actions[..., 0], target)
    with pytest.raises(ValueError, match="num_actions must be >= 2"):
        DiscreteCEMPlanner(1)


def test_cem_population_decay_scores_fewer_sequences_and_still_finds_the_optimum():
    target = torch.tensor([0.3, -0.2])
    sizes = []

    def score(actions: torch.Tensor) -> torch.Tensor:
        sizes.append(actions.shape[1])
        return -((actions - target) ** 2).sum(dim=(-1, -2))
    planner = make_planner("cem", -torch.ones(2), torch.ones(2), seed=0, horizon=3, num_candidates=100,
                           num_elites=10, iterations=5, population_decay=1.25)
    result = planner.plan(score)
    assert sizes == [100, 80, 64, 51, 40] and result.evaluations == sum(sizes)
    assert torch.allclose(result.actions[0, 0], target, atol=0.05)
    with pytest.raises(ValueError, match="population_decay"):
        make_planner("cem", -torch.ones(2), torch.ones(2), population_decay=0.5)


def test_mppi_sample_draws_an_elite_and_warm_starts_from_their_mean():
    seen: list[torch.Tensor] = []

    def score(actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions)
        return quadratic(actions)
    options = dict(horizon=4, num_candidates=200, iterations=6, min_std=0.01, select="sample")
    planner = make_planner("mppi", -torch.ones(3), torch.ones(3), seed=3, **options)
    result = planner.plan(score, num_envs=2)
    last = seen[-1]  # the chosen sequence is one of the last iteration's candidates, near the optimum
    assert all(bool((last[e] == result.actions[e]).all(dim=(-1, -2)).any()) for e in range(2))
    optimum = TARGETS[:, None].expand(-1, 4, -1)
    assert torch.allclose(result.warm_start, optimum, atol=0.08)  # the elites' mean, as "best" finds
    assert torch.allclose(result.score, quadratic(result.actions[:, None])[:, 0])  # its own score
    assert bool((result.score > 0.2 * quadratic(torch.zeros(2, 1, 4, 3))[:, 0]).all())  # a draw near the optimum
    assert result.std.shape == (2, 4, 3) and bool((result.std >= 0.02 - 1e-6).all())  # min_std x span 2
    assert torch.allclose(planner.initial_mean(2)[:, :3], result.warm_start[:, 1:])
    again = make_planner("mppi", -torch.ones(3), torch.ones(3), seed=3, **options).plan(quadratic, num_envs=2)
    assert torch.equal(again.actions, result.actions)
    with pytest.raises(ValueError, match="unknown MPPI select 'median'.*best.*sample.*mean"):
        make_planner("mppi", -torch.ones(3), torch.ones(3), select="median")


def test_mppi_mean_averages_away_noise_where_every_sequence_scores_the_same():
    flat = lambda actions: torch.zeros(actions.shape[:2])  # noqa: E731  (a goal every action keeps)
    options = dict(horizon=3, num_candidates=128, iterations=4, num_elites=32, init_std=1.0)  # lmpc's
    best, mean = (make_planner("mppi", -torch.ones(2), torch.ones(2), seed=1, select=s, **options)
                  .plan(flat, num_envs=100).actions[:, 0] for s in ("best", "mean"))
    assert float(mean.abs().mean()) < 0.25 and float(best.abs().mean()) > 0.6  # best acts on a sample's noise
    found = make_planner("mppi", -torch.ones(3), torch.ones(3), seed=3, select="mean", horizon=4,
                         num_candidates=200, iterations=6, min_std=0.01).plan(quadratic, num_envs=2)
    assert torch.allclose(found.actions, TARGETS[:, None].expand(-1, 4, -1), atol=0.08)  # and still optimises
    assert found.score.shape == (2,)
