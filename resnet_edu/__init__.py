"""resnet_edu: residual networks step by step.

The package behind the resnet-edu book. Every chapter imports it; nothing in the
book redefines what lives here.
"""

__version__ = "0.1.0"

from resnet_edu.environment import get_device, seed_everything, setup_chapter

__all__ = ["__version__", "get_device", "seed_everything", "setup_chapter"]
