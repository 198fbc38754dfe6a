"""LICENSE, CITATION.cff and codemeta.json agree with pyproject.toml (read, never written)."""

from __future__ import annotations

import json
import re
import tomllib

import allegiance
from conftest import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_citation_and_codemeta_match_the_package():
    proj = _pyproject()
    assert proj["version"] == allegiance.__version__
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(proj["version"])}"$', cff, re.M)
    assert re.search(r"^license: MIT$", cff, re.M) and proj["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    meta = json.loads((ROOT / "codemeta.json").read_text())
    assert meta["version"] == proj["version"] and meta["name"] == proj["name"]
    assert meta["license"].endswith("/MIT") and meta["description"] == proj["description"]
    names = [re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0] for d in proj["dependencies"]]
    assert [r["name"] for r in meta["softwareRequirements"]] == names


def test_readme_says_how_to_cite():
    readme = (ROOT / "README.md").read_text()
    assert "## How to cite" in readme and "CITATION.cff" in readme
