"""Agents that plan with a learned world model, the online loop they learn in, and distillation into a policy."""
