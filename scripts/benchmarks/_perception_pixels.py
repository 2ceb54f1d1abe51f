"""Learning PandaReach from 84x84 pixels: encoder from scratch, SSL encoder, intermediate representation.

Every variant sees the same camera and the robot's proprioception, never the goal vector (it must
come from the image: the green target sphere), and trains the same SAC agent (same
hyperparameters, same env-step budget, same seeds). Success is measured on the same fresh
episodes every ``eval_every`` steps. Helper module of ``scripts/benchmarks/perception.py``.
"""
from __future__ import annotations

import json
import pathlib
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.evaluation.episodes import evaluate, model_policy, summarize
from agents.sb3.features import policy_kwargs_for
from foresight_base.checks import check_choice
from perception.checkpoint import load_encoder
from perception.wrappers import EncodedObservationWrapper, ObjectLocalizationWrapper, ObjectSpec

EVAL_SEED = 10_000
"""Evaluation episodes use seeds EVAL_SEED, EVAL_SEED + 1, ...: the same episodes for every variant and seed."""
GOAL_SIZE = 3  # rgb+state's "state" is proprioception then the desired goal (docs/envs.md)
VARIANTS = ("scratch", "ssl", "ssl-finetune", "intermediate", "state")
"""(a) encoder trained from scratch, (b) SSL encoder frozen / fine-tuned, (c) intermediate representation;
"state" is the reference: the privileged goal vector instead of the image (not a pixel variant)."""
REFERENCES = ("state",)
SAC_KWARGS = {"learning_rate": 1e-3, "batch_size": 64, "gamma": 0.95, "tau": 0.05, "learning_starts": 300}
"""Shared by every variant."""
INITIAL_TEMPERATURE = 0.01
"""SAC's entropy temperature starts here, not at SB3's 1.0: the dense reward is -distance (~0.1 per
step), so a temperature of 1 drowns it until the temperature has decayed (docs/benchmarks.md)."""
NET_ARCH = [64, 64]
TARGET = ObjectSpec.sphere(0.025)  # the Reach target: a 5 cm ball (the success threshold drawn)


class HideGoal(gym.ObservationWrapper):
    """``{"image", "state"}`` -> ``{"image", "proprio"}``: drop the goal so it must be seen."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        state = env.observation_space["state"]
        proprio = gym.spaces.Box(state.low[:-GOAL_SIZE], state.high[:-GOAL_SIZE], dtype=np.float32)
        self.observation_space = gym.spaces.Dict({"image": env.observation_space["image"], "proprio": proprio})

    def observation(self, observation: dict) -> dict:
        return {"image": observation["image"], "proprio": observation["state"][:-GOAL_SIZE]}


def make_env(variant: str, encoder_path: str | None, image_size: int = 84) -> gym.Env:
    """The PandaReach env as seen by ``variant``."""
    check_choice("variant", variant, VARIANTS)
    if variant == "state":
        return gym.make("Foresight/PandaReach-v0", obs_mode="state", reward_type="dense")
    env = HideGoal(gym.make("Foresight/PandaReach-v0", obs_mode="rgb+state", image_size=image_size,
                            reward_type="dense"))  # fmt: skip
    if variant == "ssl":  # frozen: the wrapper encodes once, the agent sees features
        return EncodedObservationWrapper(env, load_encoder(encoder_path), image_key="image")
    if variant == "intermediate":
        return ObjectLocalizationWrapper(env, {"target": TARGET}, frames_from="render_frames",
                                         keep_keys=["proprio"],
                                         hold_last_seen=True)  # the hand hides the target when on it  # fmt: skip
    return env  # "scratch" and "ssl-finetune" learn from the pixels themselves


def success_rate(model, env: gym.Env, episodes: int, seed: int) -> float:
    """Fraction of deterministic episodes (reset seeds ``seed``, ``seed + 1``, ...) that end in success."""
    return summarize(evaluate(env, model_policy(model), episodes, seed)[0]).success_rate


def policy_kwargs(variant: str, env: gym.Env, encoder_path: str | None) -> dict:
    """The same SAC heads for every variant; pixel variants add a NatureCNN with DrQ random shift."""
    kwargs: dict = {"net_arch": NET_ARCH}
    if variant == "scratch":
        kwargs |= policy_kwargs_for(env.observation_space, encoder="nature", features_dim=50, augment="shift")
    elif variant == "ssl-finetune":  # the SSL encoder as initialisation, trained on through SAC's losses
        kwargs |= policy_kwargs_for(env.observation_space, pretrained=encoder_path, augment="shift")
    return kwargs


def run_variant(variant: str, steps: int, eval_every: int, eval_episodes: int, seed: int,
                encoder_path: str | None, out: pathlib.Path,
                initial_temperature: float = INITIAL_TEMPERATURE) -> list[tuple[int, float]]:
    """Train SAC on ``variant`` for ``steps`` env steps; write ``out/<variant>-s<seed>.json``, return the curve."""
    from stable_baselines3 import SAC

    env, eval_env = make_env(variant, encoder_path), make_env(variant, encoder_path)
    policy = "MlpPolicy" if variant == "state" else "MultiInputPolicy"
    model = SAC(policy, env, buffer_size=steps, policy_kwargs=policy_kwargs(variant, env, encoder_path), seed=seed,
                device="cpu", ent_coef=f"auto_{initial_temperature}", **SAC_KWARGS)  # fmt: skip
    curve, start = [], time.perf_counter()
    while model.num_timesteps < steps:
        model.learn(eval_every, reset_num_timesteps=False)
        curve.append((model.num_timesteps, success_rate(model, eval_env, eval_episodes, EVAL_SEED)))
        print(f"{variant:12s} seed {seed} step {curve[-1][0]:6d} success {curve[-1][1]:.2f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{variant}-s{seed}.json").write_text(json.dumps({"variant": variant, "seed": seed, "curve": curve,
                                                                  "initial_temperature": initial_temperature,
                                                                  "seconds": time.perf_counter() - start}))  # fmt: skip
    env.close()
    eval_env.close()
    return curve


def load_curves(out: pathlib.Path) -> dict[str, dict[int, dict]]:
    """``{variant: {seed: result}}`` for every result file in ``out``."""
    curves: dict[str, dict[int, dict]] = {}
    for path in sorted(out.glob("*-s*.json")):
        result = json.loads(path.read_text())
        curves.setdefault(result["variant"], {})[result["seed"]] = result
    return curves


def steps_to(curve: list[tuple[int, float]], level: float) -> int | None:
    """First evaluated step count whose success reaches ``level``; ``None`` if never."""
    return next((step for step, success in curve if success >= level), None)


def summary(curves: dict[str, dict[int, dict]], level: float = 0.9) -> dict[str, dict]:
    """Per variant: steps to ``level`` per seed, their median, and the budget each seed ran.

    A seed that never reached ``level`` counts as "more than its budget"; when the median seed is
    one of those, ``median`` is its budget and ``median_is_lower_bound`` is set ("needs more than N").
    """
    table = {}
    for variant, seeds in curves.items():
        reached = {seed: steps_to(r["curve"], level) for seed, r in seeds.items()}
        budgets = {seed: r["curve"][-1][0] for seed, r in seeds.items()}
        ordered = sorted((steps if steps is not None else budgets[seed], steps is None)
                         for seed, steps in reached.items())  # fmt: skip
        middle = ordered[len(ordered) // 2]  # the median for an odd seed count, the upper one for even
        table[variant] = {"steps_to_level": reached, "budget": budgets, "median": middle[0],
                          "median_is_lower_bound": middle[1]}  # fmt: skip
    return table


def plot(out: pathlib.Path) -> pathlib.Path:
    """One PNG of success vs env steps: each variant's median over seeds, seeds as thin lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (variant, seeds), colour in zip(sorted(load_curves(out).items()), colours, strict=False):
        for result in seeds.values():
            ax.plot(*zip(*result["curve"], strict=True), color=colour, alpha=0.3, linewidth=0.8)
        length = min(len(r["curve"]) for r in seeds.values())
        steps = [step for step, _ in next(iter(seeds.values()))["curve"][:length]]
        median = np.median([[success for _, success in r["curve"][:length]] for r in seeds.values()], axis=0)
        role = "reference, goal vector given, " if variant in REFERENCES else ""
        count = f"{len(seeds)} seed" + "s" * (len(seeds) != 1)
        ax.plot(steps, median, marker="o", color=colour, label=f"{variant} ({role}median of {count})")
    ax.axhline(0.9, color="gray", linestyle="--", linewidth=0.8)
    ax.set(xlabel="env steps", ylabel="success rate", title="PandaReach from 84x84 pixels (SAC)", ylim=(-0.05, 1.05))
    ax.legend(loc="center right", fontsize=8)  # late steps: learners near 1, the rest near 0
    fig.tight_layout()
    fig.savefig(out / "pixels.png", dpi=100)
    return out / "pixels.png"




def verdict(table: dict[str, dict], baseline: str = "scratch") -> str:
    """Issue #4's test: does any other variant reach the level with at most half of ``baseline``'s steps?"""
    if baseline not in table:
        return f"no {baseline!r} runs in this folder: nothing to compare against"
    base = table[baseline]
    base_text = f"{'more than ' if base['median_is_lower_bound'] else ''}{base['median']}"
    lines = [f"{baseline}: median steps to 90 %: {base_text}"]
    for variant, row in table.items():
        if variant == baseline or variant in REFERENCES:
            continue
        met = not row["median_is_lower_bound"] and 2 * row["median"] <= base["median"]
        steps = "never" if row["median_is_lower_bound"] else row["median"]
        lines.append(f"{variant}: median steps to 90 %: {steps}; "
                     f"at most half of {baseline}'s: {'yes' if met else 'no'}")
    return "\n".join(lines)
