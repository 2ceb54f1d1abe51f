"""A run that trained fine is never lost to its video: a renderer that needs a missing package (as
``Pendulum-v1`` without pygame, MuJoCo without an OpenGL platform) costs the MP4 only, with a
warning that says how to get it."""
import json

from agents.evaluation.media import how_to_get
from agents.runs.cli import evaluate_main, train_main
from tests.agents import point_goal_env

TINY = ["--params", "learning_starts=100", "buffer_size=500", "policy_kwargs=dict(net_arch=[8])"]


def test_a_renderer_that_needs_pygame_costs_the_video_not_the_run(tmp_path, capsys):
    env = point_goal_env.NO_PYGAME_ID
    assert train_main(["--env", env, "-n", "40", "--eval-freq", "0", "--eval-episodes", "2", "--video-episodes", "1",
                       "-f", str(tmp_path), "--no-progress", *TINY]) == 0
    out = capsys.readouterr().out
    run = next(tmp_path.glob(f"{env}/sac/*_s0"))
    assert "warning: video.mp4 not written (DependencyNotInstalled: pygame is not installed" in out
    assert "to get it: pip install pygame" in out
    assert f"then: python scripts/evaluate.py {run} --video-episodes 1" in out
    assert json.loads((run / "eval.json").read_text())["step"] == 40  # the work before it is all there
    assert (run / "checkpoints" / "best.pt").is_file() and (run / "curve.png").is_file()
    assert not (run / "video.mp4").exists() and "video.mp4" not in out.split("results in")[1]
    assert evaluate_main([str(run), "--episodes", "2", "--video-episodes", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: eval_video.mp4 not written" in out and (run / "evaluation" / "episodes.csv").is_file()


def test_hints_name_the_fix_for_the_usual_failures():
    import gymnasium as gym

    no_gl = RuntimeError("mujoco.FatalError: an OpenGL platform library has not been loaded")
    assert "MUJOCO_GL=egl" in how_to_get(no_gl)
    assert "pip install pygame" in how_to_get(gym.error.DependencyNotInstalled("pygame is not installed"))
    assert how_to_get(ModuleNotFoundError("No module named 'imageio_ffmpeg'", name="imageio_ffmpeg")) == \
        "pip install imageio-ffmpeg"
