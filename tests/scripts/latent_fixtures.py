"""The tiny latent planning agent's settings, one copy for the benchmark-section tests
(``conftest.py`` here trains the shared Reach agent with them)."""

TINY = dict(latent_dim=16, hidden_dim=32, batch_size=32, num_candidates=16, num_elites=4, num_prior=2, iterations=1,
            learning_starts=40, pretrain_updates=5)
