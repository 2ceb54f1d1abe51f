"""Names the command lines validate against, importable without torch or SB3 (a fast ``--help``).

``agents.training.factory`` builds each algorithm and ``agents.training.env_setup`` each vec-env kind named here.
"""
ALGOS = ("a2c", "ddpg", "dqn", "lmpc", "mpc", "ppo", "sac", "td3", "tqc")
"""SB3's algorithms, sb3-contrib's TQC and our planning agents (``mpc``: PETS-style on the state,
``lmpc``: latent, value-guided), sorted."""
VEC_ENVS = ("dummy", "subproc", "batched")
"""One process, one process per env, or a batched torch world."""
