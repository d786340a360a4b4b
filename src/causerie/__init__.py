"""causerie: a self-hosted conversation layer for news sites."""

__version__ = "0.1.0"
