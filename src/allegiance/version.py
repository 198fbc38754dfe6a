"""The package version (one place; ``pyproject.toml`` and the citation files repeat it and a
test checks they agree)."""

__version__ = "0.5.0"
