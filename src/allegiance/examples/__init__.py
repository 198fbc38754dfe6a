"""Worked examples that ship with the package (see ``docs/ARCHITECTURE.md``)."""
