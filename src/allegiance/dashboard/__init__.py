"""The browser dashboard (``allegiance dashboard``): explore a scenario, run it, compare, share.

Importing this package is cheap; the web app (:mod:`allegiance.dashboard.app`, Solara) loads
only when the server starts. See docs/DASHBOARD.md.
"""

from __future__ import annotations
