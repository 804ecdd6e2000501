"""The one exception type users see: a bad input, with a message that names the problem."""

from __future__ import annotations

import reprlib

#: longest user value echoed in an error message (a 25 MB YAML value must not become the line)
ECHO_LIMIT = 200


class ImcoptError(ValueError):
    """A bad input (config, design, workload file, CLI argument).

    The message names the file / row / layer / parameter and the allowed range. The CLI prints
    it without a traceback and exits non-zero.
    """


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 6, 8, 8
_REPR.maxset = _REPR.maxfrozenset = 8
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = ECHO_LIMIT


def short(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` capped at ``limit`` characters, for echoing user values in errors.

    Uses ``reprlib`` so the cost is bounded too: a nested-anchor YAML value (shared lists,
    billions of elements when expanded) is never fully rendered.
    """
    text = _REPR.repr(value)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
