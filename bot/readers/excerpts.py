"""Find the exact text a structured value was read from, for provenance."""

from __future__ import annotations

import re


class RawText:
    """The raw text of one structured block, searched for excerpts of its values."""

    def __init__(self, raw: str) -> None:
        self.raw = raw

    def find(self, *needles: object, start: int = 0) -> tuple[str, int]:
        """The raw text of `key: value` (JSON or YAML spelling) and where it starts.

        With one needle, that text alone. Falls back to the value alone, then the
        key alone, so an excerpt is always text that appears in the artifact.
        """
        texts = [str(n) for n in needles if n is not None and str(n) != ""]
        if not texts:
            return "", -1
        if len(texts) >= 2:
            key, value = texts[0], texts[-1]
            pattern = r'"?' + re.escape(key) + r'"?\s*:\s*"?' + re.escape(value) + r'(?![\w.-])"?'
            found = re.compile(pattern).search(self.raw, start) or re.compile(pattern).search(self.raw)
            if found:
                return found.group(0), found.start()
        for text in reversed(texts):
            position = self.raw.find(text, start)
            if position < 0:
                position = self.raw.find(text)
            if position >= 0:
                return text, position
        return "", -1

    def line_at(self, position: int) -> str:
        """The whole (stripped) line that holds `position`."""
        if position < 0:
            return ""
        begin = self.raw.rfind("\n", 0, position) + 1
        end = self.raw.find("\n", position)
        return self.raw[begin : end if end >= 0 else len(self.raw)].strip()

    def line_number(self, position: int) -> int | None:
        return self.raw.count("\n", 0, position) + 1 if position >= 0 else None
