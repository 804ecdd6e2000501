"""The one exception type users see: a bad input, with a message that names the problem."""

from __future__ import annotations


class ImcoptError(ValueError):
    """A bad input (config, design, workload file, CLI argument).

    The message names the file / row / layer / parameter and the allowed range. The CLI prints
    it without a traceback and exits non-zero.
    """
