"""Find the exact text a structured value was read from, for provenance."""

from __future__ import annotations

import re

# In a large body (a 5,000-pod List) a value is looked for near the object being read (a pod is a
# few KB), never across the whole text: a miss must not cost a scan of every byte.
NEAR = 16 * 1024
SMALL = 1024 * 1024
_ESCAPED = re.compile(r'["\\\x00-\x1f\x7f-\U0010ffff]')


class RawText:
    """The raw text of one structured block, searched for excerpts of its values."""

    def __init__(self, raw: str, lines: bool = True) -> None:
        self.raw = raw
        self.lines = lines  # False: a part of a larger body, where a line number would mislead
        self._counted = (0, 1)  # (offset, line number at that offset)
        # JSON spells a key `"key"`, YAML `key:`; looking for the other spelling scans for nothing.
        self.json = re.match(r"\s*[\[{]", raw) is not None

    def find(self, *needles: object, start: int = 0) -> tuple[str, int]:
        """The raw text of `key: value` (JSON or YAML spelling) and where it starts.

        With one needle, that text alone. Falls back to the value alone, then the
        key alone, so an excerpt is always text that appears in the artifact.
        """
        if not self.lines and self.json:  # a part of a large body: the usual cases in one search
            quick = (
                self._spelled(needles[0], needles[-1], start)
                if len(needles) >= 2
                else self._alone(needles, start)
            )
            if quick[1] >= 0:
                return quick
        texts = [str(n) for n in needles if n is not None and str(n) != ""]
        if not texts:
            return "", -1
        for begin, end, backward in self._windows(start):
            found = self._find_between(texts, begin, end, backward)
            if found[1] >= 0:
                return found
        return "", -1

    def _spelled(self, key: object, value: object, start: int) -> tuple[str, int]:
        """In a part of a large body, `"key": value` as kubectl spells it, nearest first: one search."""
        if not isinstance(key, str) or isinstance(value, bool):
            return "", -1
        if isinstance(value, str):
            spelled = f'"{key}": "{value}"'
        elif isinstance(value, int | float):
            spelled = f'"{key}": {value}'
        else:
            return "", -1
        position = self.raw.find(spelled, start)
        if position < 0:
            position = self.raw.rfind(spelled, 0, start)
        if position < 0 or not (spelled[-1] == '"' or _ends_value(self.raw, position + len(spelled))):
            return "", -1
        return spelled, position

    def _alone(self, needles: tuple[object, ...], start: int) -> tuple[str, int]:
        """One text, nearest first (what the windows below find for it, when it is there)."""
        text = needles[0] if needles else None
        if not isinstance(text, str) or not text:
            return "", -1
        position = self.raw.find(text, start)
        if position < 0:
            position = self.raw.rfind(text, 0, start)
        return (text, position) if position >= 0 else ("", -1)

    def _windows(self, start: int) -> list[tuple[int, int, bool]]:
        """Forward from the object being read, then back from it (nearest first: the same object)."""
        if len(self.raw) <= SMALL:
            return [(start, len(self.raw), False), (0, start, True)]
        return [(start, start + NEAR, False), (max(0, start - NEAR), start, True)]

    def _find_between(self, texts: list[str], begin: int, end: int, backward: bool) -> tuple[str, int]:
        search = self.raw.rfind if backward else self.raw.find
        if len(texts) >= 2:
            if not self.lines and self.json:  # a part of a large body: its pairs as kubectl spells them
                for spelled in (f'"{texts[0]}": "{texts[-1]}"', f'"{texts[0]}": {texts[-1]}'):
                    position = search(spelled, begin, end)
                    if position >= 0 and (
                        spelled[-1] == '"' or _ends_value(self.raw, position + len(spelled))
                    ):
                        return spelled, position
            pair = self._pair(texts[0], texts[-1], begin, end, backward)
            if pair[1] >= 0:
                return pair
        for text in reversed(texts):
            position = search(text, begin, end)
            if position >= 0:
                return text, position
            if len(text) <= 24:
                continue
            plain = _unescaped_prefix(text)  # JSON may have escaped a quote or a newline further on
            if plain and plain != text and (position := search(plain, begin, end)) >= 0:
                return plain, position
        return "", -1

    def _pair(self, key: str, value: str, begin: int, end: int, backward: bool) -> tuple[str, int]:
        """`"key": "value"` or `key: value`, as spelled in the text."""
        for spelled in [f'"{key}"'] if self.json else [f"{key}:", f'"{key}"']:
            position = self.raw.rfind(spelled, begin, end) if backward else self.raw.find(spelled, begin, end)
            tries = 0
            while position >= 0 and tries < 8:
                after = position + len(spelled)
                segment = self.raw[after : after + len(value) + 8]
                at = segment.find(value)
                if at >= 0 and segment[:at].strip(' :"\t') == "" and _ends_value(segment, at + len(value)):
                    stop = after + at + len(value)
                    if self.raw[stop : stop + 1] == '"':
                        stop += 1
                    return self.raw[position:stop], position
                if backward:
                    position = self.raw.rfind(spelled, begin, position)
                else:
                    position = self.raw.find(spelled, position + 1, end)
                tries += 1
        return "", -1

    def line_number(self, position: int) -> int | None:
        if position < 0 or len(self.raw) > SMALL or not self.lines:
            return None  # in a large body the path to the object says more than a line number
        # Facts come near each other in text order: count the newlines between this one and the last.
        last, line = self._counted
        if position >= last:
            line += self.raw.count("\n", last, position)
        else:
            line -= self.raw.count("\n", position, last)
        self._counted = (position, line)
        return line


def _ends_value(segment: str, at: int) -> bool:
    """The value is whole there: not the start of a longer word or number."""
    return at >= len(segment) or not (segment[at].isalnum() or segment[at] in "._-")


def _unescaped_prefix(text: str) -> str:
    """The start of a value up to the first character JSON would escape, if long enough to mean something."""
    escaped = _ESCAPED.search(text)
    if escaped is None:
        return text
    return text[: escaped.start()] if escaped.start() >= 24 else ""
