"""Prompt tokenization that does not redo the same work every turn.

A rendered chat prompt is segments of text between special tokens
(``<|im_start|>``, ``<|im_end|>`` ...): the system message and tools, then one
segment per message. Between two turns of an episode — and between the
episodes of a batch — almost every segment is one already seen. Fast
tokenizers split the text at their added tokens before anything else, so
encoding each segment on its own and joining them with the special tokens' ids
gives the same ids as encoding the whole text; :class:`SegmentEncoder` caches
the segments' ids and only encodes new ones.

It checks that claim on the first prompts it sees (against a plain encode of
the whole text) and falls back to plain encoding for good if a tokenizer
disagrees (say, one whose special tokens strip the spaces around them).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["SegmentEncoder"]

logger = logging.getLogger(__name__)


class SegmentEncoder:
    """``encode_many(texts)`` == ``tokenizer(texts, add_special_tokens=False).input_ids``.

    >>> from agentgym.policies.tiny import build_tokenizer
    >>> tok = build_tokenizer(envs=())
    >>> enc = SegmentEncoder(tok)
    >>> text = "<|im_start|>user\\nhello there<|im_end|>\\n"
    >>> enc.encode_many([text]) == [tok.encode(text, add_special_tokens=False)]
    True
    """

    def __init__(self, tokenizer: Any, *, max_entries: int = 4096, verify: int = 16) -> None:
        self.tokenizer = tokenizer
        self.max_entries = max_entries
        self.to_verify = verify
        added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
        # Only tokens matched verbatim, with nothing stripped around them, are safe split points.
        self.special_ids = {
            str(t): int(i) for i, t in added.items()
            if not getattr(t, "lstrip", False) and not getattr(t, "rstrip", False)
            and not getattr(t, "single_word", False) and not getattr(t, "normalized", False)
        }
        names = sorted(self.special_ids, key=len, reverse=True)
        self.pattern = re.compile("(" + "|".join(map(re.escape, names)) + ")") if names else None
        self.enabled = self.pattern is not None
        self.cache: dict[str, list[int]] = {}
        self._lock = threading.Lock()  # a policy may be shared by threads (evaluation workers)

    def _plain(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        with self._lock:
            return self._encode_many(texts)

    def _encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        if not self.enabled or self.pattern is None:
            return self._plain(texts)
        split = [self.pattern.split(t) for t in texts]  # even indices: text, odd: special tokens
        new = sorted({seg for parts in split for seg in parts[0::2] if seg and seg not in self.cache})
        if new:
            if len(self.cache) + len(new) > self.max_entries:
                self.cache.clear()  # simple and rare: the next turn re-encodes its segments
                # This batch's cached segments went too: encode all of them again.
                new = sorted({seg for parts in split for seg in parts[0::2] if seg})
            self.cache.update(zip(new, self._plain(new), strict=True))
        out = []
        for parts in split:
            ids: list[int] = []
            for j, seg in enumerate(parts):
                if j % 2:
                    ids.append(self.special_ids[seg])
                elif seg:
                    ids.extend(self.cache[seg])
            out.append(ids)
        if self.to_verify > 0:
            k = min(self.to_verify, len(texts))
            self.to_verify -= k
            if out[:k] != self._plain(texts[:k]):
                logger.info("segment-wise tokenization differs for this tokenizer; encoding whole prompts")
                self.enabled = False
                return self._plain(texts)
        return out
