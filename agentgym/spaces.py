"""Gymnasium spaces for free text.

``gymnasium.spaces.Text`` admits only the characters of its charset (62
alphanumerics by default), so natural-language observations and model-written
actions would fail ``contains``. :class:`FreeText` admits any ``str`` up to
``max_length`` characters and samples from printable ASCII plus a few non-ASCII
characters, so ``check_env``'s random actions exercise the error paths.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium.spaces import Text

__all__ = ["FreeText"]

_SAMPLE_CHARSET = string.printable + "é—→中😀"


class FreeText(Text):
    """A text space that contains every string of length in ``[min_length, max_length]``.

    >>> FreeText(100).contains("héllo, world — <tool_call>")
    True
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"FreeText({self.min_length}, {self.max_length})"
