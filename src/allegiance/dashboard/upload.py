"""A scenario upload: a file picker and a drop zone (Solara's FileDrop takes drops only)."""

from __future__ import annotations

from collections.abc import Callable

import solara
from solara.components.file_drop import FileDropZone


class ScenarioDropZone(FileDropZone):
    """Solara's drop zone with an ``<input type=file>`` added (same upload protocol)."""

    template_file = (__file__, "upload.vue")


@solara.component
def ScenarioUpload(  # noqa: N802 (Solara components are CamelCase)
    on_file: Callable[[str, bytes | None, int], None], label: str, max_bytes: int
):
    """Calls ``on_file(name, data, size)``; ``data`` is None for a file over ``max_bytes``,
    which is refused without being read."""
    file_info, set_file_info = solara.use_state(None)
    wired, set_wired = solara.use_state(None)
    zone = ScenarioDropZone.element(label=label, on_file_info=set_file_info, multiple=False)

    def wire():  # needs the render context: an effect, as in solara's FileDrop
        if not file_info:
            return
        real = solara.get_widget(zone)
        real.version += 1
        real.reset_stats()
        set_wired(real.get_files())

    solara.use_effect(wire, [file_info])

    def read():  # waits for the browser to send the bytes: a thread
        if not wired:
            return
        f = wired[0]
        if f["size"] > max_bytes:
            on_file(f["name"], None, f["size"])
            return
        on_file(f["name"], f["file_obj"].read(), f["size"])

    solara.use_thread(read, [wired])
    return zone
