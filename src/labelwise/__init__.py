"""labelwise: active learning for text labeling.

Layers (imports only go downward): data, models, strategies → features → loop, noise → simulate, server → cli.
"""

__version__ = "0.1.0"
