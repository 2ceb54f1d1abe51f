"""Package-level promises: ``import envs`` is light and the layers import nothing they must not."""
import subprocess
import sys


def test_import_envs_is_light():
    code = (
        "import sys, envs, gymnasium as gym;"
        "heavy = [m for m in ('torch', 'pybullet', 'cv2', 'stable_baselines3') if m in sys.modules];"
        "assert not heavy, heavy;"
        "print(sorted(i for i in gym.registry if i.startswith('Foresight/')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
