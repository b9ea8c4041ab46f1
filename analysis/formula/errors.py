"""One error type for formulas and subset expressions: what is wrong, where, and what would be valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, valid: Iterable[str], n: int = 5) -> list[str]:
    """The valid names closest to ``name`` (difflib ratio ≥ 0.5, best first; case-insensitive)."""
    pool = sorted(set(valid))
    folded = {v.casefold(): v for v in pool}
    hits = difflib.get_close_matches(name.casefold(), list(folded), n=n, cutoff=0.5)
    return [folded[h] for h in hits]


class FormulaError(ValueError):
    """A formula or subset expression that cannot be accepted.

    Attributes
    ----------
    reason : what is wrong, in one sentence.
    source : the full text of the formula or expression (when known).
    pos : 0-based character offset of the offending part in ``source``.
    length : length of the offending part (for the caret line).
    name : the offending term or name, when there is one.
    suggestions : nearest valid names (difflib), best first.
    where : which params entry the text came from (e.g. ``datasets.default.fit_founding.steps.density``).
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        pos: int | None = None,
        length: int = 1,
        name: str | None = None,
        suggestions: Iterable[str] = (),
        where: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.pos = pos
        self.length = max(int(length), 1)
        self.name = name
        self.suggestions = list(suggestions)
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.where}: " if self.where else ""
        lines = [head + self.reason]
        if self.source is not None and self.pos is not None:
            lines[0] += f" (at column {self.pos + 1})"
            lines.append("    " + self.source)
            lines.append(
                "    " + " " * self.pos + "^" * min(self.length, max(len(self.source) - self.pos, 1))
            )
        if self.suggestions:
            lines.append("  nearest valid names: " + ", ".join(self.suggestions))
        return "\n".join(lines)

    def located(self, where: str) -> FormulaError:
        """The same error, naming the params entry it came from (outer location first)."""
        place = where if not self.where else f"{where}: {self.where}"
        return FormulaError(
            self.reason,
            source=self.source,
            pos=self.pos,
            length=self.length,
            name=self.name,
            suggestions=self.suggestions,
            where=place,
        )
