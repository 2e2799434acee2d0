"""The traceback of a script's uncaught exception as python would have shown it.

lossdoctor's frames are taken out (the runner, its wrappers around torch calls), and with them
the detour torch takes through them: while lossdoctor's torch-function mode records a step, a
torch function (``F.cross_entropy``) calls ``handle_torch_function``, which calls the mode,
which calls the function again. Python would show the function once, at the line that raised;
under the mode the traceback held its first entry and torch's dispatcher as well.
"""

from __future__ import annotations

import os

import lossdoctor

PACKAGE_DIR = os.path.dirname(os.path.abspath(lossdoctor.__file__)) + os.sep
#: The torch function through which every torch-function mode is called.
DISPATCHER = ("overrides.py", "handle_torch_function")


def without_lossdoctor(tb):
    """``tb`` relinked without lossdoctor's frames and torch's detours through them."""
    links = _links(tb)
    kept = [link for index, link in enumerate(links)
            if not _ours(link) and not _a_detour(links, index)]
    for first, second in zip(kept, kept[1:], strict=False):
        first.tb_next = second
    if kept:
        kept[-1].tb_next = None
    return kept[0] if kept else None


def _links(tb) -> list:
    links = []
    while tb is not None:
        links.append(tb)
        tb = tb.tb_next
    return links


def _ours(link) -> bool:
    return link.tb_frame.f_code.co_filename.startswith(PACKAGE_DIR)


def _a_detour(links: list, index: int) -> bool:
    """Whether ``links[index]`` is torch's dispatcher that called lossdoctor's mode, or the
    torch function's first entry that called that dispatcher: the function entered again after
    lossdoctor's frames is the one python shows."""
    if _dispatches_to_us(links, index):
        return True
    return index + 1 < len(links) and _dispatches_to_us(links, index + 1) and (
        _reentered(links, index + 1) is links[index].tb_frame.f_code)


def _dispatches_to_us(links: list, index: int) -> bool:
    code = links[index].tb_frame.f_code
    if not (code.co_name == DISPATCHER[1] and code.co_filename.endswith(DISPATCHER[0])):
        return False
    return index + 1 < len(links) and _ours(links[index + 1])


def _reentered(links: list, dispatcher: int):
    """The code of the first frame after the dispatcher's run of lossdoctor frames."""
    for link in links[dispatcher + 1:]:
        if not _ours(link):
            return link.tb_frame.f_code
    return None
