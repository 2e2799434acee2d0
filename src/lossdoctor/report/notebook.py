"""The report in Jupyter: the HTML page shown inline, and where text goes in a notebook."""

from __future__ import annotations

import sys
from html import escape

#: Height of the inline report (pixels); the page scrolls inside it.
INLINE_HEIGHT = 640


def inline_html(page: str) -> str:
    """The HTML report as a notebook output: the page in an iframe of its own (``srcdoc``), so
    its styles and the notebook's do not mix. Figures stay data URIs: nothing is fetched."""
    return (f'<iframe srcdoc="{escape(page, quote=True)}" title="lossdoctor report" '
            f'style="width: 100%; height: {INLINE_HEIGHT}px; border: 1px solid #e3e3e3;">'
            "</iframe>")


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (not a plain IPython terminal)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
