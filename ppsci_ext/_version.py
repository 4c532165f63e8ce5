"""The package's version: the one source (pyproject.toml reads it, checkpoints store it)."""

__version__ = "0.1.0"
