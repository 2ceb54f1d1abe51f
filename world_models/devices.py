"""Device choice shared by models, planners and agents: ``"auto"`` means CUDA when present."""
from perception.devices import resolve_device

__all__ = ["resolve_device"]
