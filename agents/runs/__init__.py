"""Finished run folders: load a policy back without running code, evaluate and compare runs, Ray, the scripts' CLI."""
