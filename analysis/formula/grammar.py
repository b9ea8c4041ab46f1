"""A closed grammar for model formulas and subset expressions, parsed without ``eval``.

Formulas follow Wilkinson / R syntax: ``lhs ~ rhs`` with ``+``, ``-``, ``:``, ``*``, ``/`` and ``**`` / ``^``
(interaction power with a whole number) between terms, ``0`` / ``1`` / ``-1`` for the intercept, and
factors that are names or calls ``f(arg, ..., key=value)``. Inside call arguments the operators are
arithmetic (``+ - * / **``, unary minus) on names, numbers, strings and lists of literals. Subset
expressions add comparisons (``== != < <= > >=``, ``in [...]``, ``not in [...]``) and ``and`` / ``or`` /
``not`` (also spelled ``&`` / ``|`` / ``!``).

What the grammar cannot express, by construction: attribute access (no ``.`` after a name), subscripts,
lambdas, comprehensions, keyword arguments outside calls, statements, names beginning with ``__``. Which
names and functions exist is decided later (:mod:`analysis.formula.vocabulary`); this module only builds
the tree. Size limits keep hostile or accidental inputs cheap to reject.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from analysis.formula.errors import FormulaError

MAX_CHARS = 4000
MAX_TOKENS = 1000
MAX_DEPTH = 40
MAX_STRING = 200
MAX_LIST = 200
MAX_POWER = 4
MAX_TERMS = 300

OPERATORS = ("**", "==", "!=", "<=", ">=", "~", "+", "-", "*", "/", ":", "^", "(", ")", "[", "]", ",", "=")
OPERATORS += ("<", ">", "&", "|", "!")
KEYWORDS = frozenset({"and", "or", "not", "in"})
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


# ------------------------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Node:
    """Base of the syntax tree; ``pos``/``end`` are character offsets into the source text."""

    pos: int
    end: int


@dataclass(frozen=True)
class Name(Node):
    id: str
    quoted: bool = False


@dataclass(frozen=True)
class Num(Node):
    value: float | int


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]

    def kwarg(self, key: str) -> Node | None:
        """The value node of keyword argument ``key`` (None when absent)."""
        return next((v for k, v in self.kwargs if k == key), None)


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # formula: + - : * / **; arithmetic: + - * / **; subset: == != < <= > >= and or
    left: Node
    right: Node
    formula: bool = False


@dataclass(frozen=True)
class InList(Node):
    left: Node
    items: ListLit
    negate: bool = False


@dataclass(frozen=True)
class Formula:
    """A parsed formula: optional left-hand side, right-hand side, and the source text."""

    lhs: Node | None
    rhs: Node
    source: str


# -------------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class Token:
    kind: str  # NAME, QNAME, NUMBER, STRING, OP, END
    text: str
    pos: int
    value: object = None


def _err(reason: str, src: str, pos: int, length: int = 1, **kw: object) -> FormulaError:
    return FormulaError(reason, source=src, pos=pos, length=length, **kw)  # type: ignore[arg-type]


def tokenize(src: str) -> list[Token]:
    """Split ``src`` into tokens; anything outside the grammar's alphabet is an error at its position."""
    if not isinstance(src, str):
        raise FormulaError(f"a formula or expression must be text, got {type(src).__name__}")
    if len(src) > MAX_CHARS:
        raise FormulaError(f"text is {len(src)} characters long; the limit is {MAX_CHARS}")
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        if len(out) >= MAX_TOKENS:
            raise _err(f"more than {MAX_TOKENS} tokens", src, i)
        m = _NUMBER.match(src, i)
        if m and (ch.isdigit() or (ch == "." and m.end() > i + 1)):
            text = m.group(0)
            if m.end() < n and (src[m.end()].isalpha() or src[m.end()] == "_"):
                raise _err(f"malformed number {src[i : m.end() + 1]!r}", src, i, m.end() + 1 - i)
            value: float | int = float(text) if any(c in text for c in ".eE") else int(text)
            if not math.isfinite(float(value)) or abs(float(value)) > 1e15:
                raise _err(f"number {text} is out of range", src, i, len(text))
            out.append(Token("NUMBER", text, i, value))
            i = m.end()
            continue
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            text = src[i:j]
            if text.startswith("__"):
                raise _err(f"names beginning with '__' are not allowed: {text!r}", src, i, j - i, name=text)
            if j < n and src[j] == ".":
                raise _err(
                    f"attribute access is not allowed ({text}.…); names are columns or built-in terms",
                    src,
                    j,
                    name=text,
                )
            out.append(Token("NAME", text, i, text))
            i = j
            continue
        if ch == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise _err("unterminated `quoted name`", src, i)
            text = src[i + 1 : j]
            if not text or len(text) > MAX_STRING:
                raise _err("a `quoted name` must have 1 to 200 characters", src, i, j + 1 - i)
            if text.startswith("__"):
                raise _err(
                    f"names beginning with '__' are not allowed: {text!r}", src, i, j + 1 - i, name=text
                )
            out.append(Token("QNAME", src[i : j + 1], i, text))
            i = j + 1
            continue
        if ch in "'\"":
            j = i + 1
            chars: list[str] = []
            while j < n and src[j] != ch:
                if src[j] == "\\":
                    if j + 1 < n and src[j + 1] in "'\"\\":
                        chars.append(src[j + 1])
                        j += 2
                        continue
                    raise _err("only \\' \\\" and \\\\ escapes are allowed in strings", src, j, 2)
                chars.append(src[j])
                j += 1
            if j >= n:
                raise _err("unterminated string", src, i)
            if len(chars) > MAX_STRING:
                raise _err(f"string longer than {MAX_STRING} characters", src, i, j + 1 - i)
            out.append(Token("STRING", src[i : j + 1], i, "".join(chars)))
            i = j + 1
            continue
        op = next((o for o in OPERATORS if src.startswith(o, i)), None)
        if op is None:
            what = {
                ".": "'.' is not allowed (attribute access, or R's 'all other columns': write the terms out)",
                "$": "'$' is not allowed (write the column name alone)",
                ";": "';' is not allowed (one formula per entry)",
                "@": "'@' is not allowed",
                "{": "braces are not allowed (write I(...) for arithmetic)",
                "}": "braces are not allowed",
                "%": "'%' operators are not allowed (write ':' for interactions, 'in [...]' in subsets)",
            }.get(ch, f"character {ch!r} is not allowed")
            raise _err(what, src, i)
        out.append(Token("OP", op, i, op))
        i += len(op)
    out.append(Token("END", "", n))
    return out


# ----------------------------------------------------------------------------------------- parser

# binding powers: formula layer (R's precedence) and expression layer (Python's)
_FORMULA_BP = {"+": 10, "-": 10, "*": 20, "/": 20, ":": 30, "**": 40, "^": 40}
_EXPR_BP = {"or": 2, "|": 2, "and": 3, "&": 3, "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5, "in": 5}
_EXPR_BP.update({"+": 10, "-": 10, "*": 20, "/": 20, "**": 40, "^": 40})
_CANON = {"^": "**", "&": "and", "|": "or", "!": "not"}
_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, src: str, *, subset: bool = False) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0
        self.subset = subset

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def expect(self, text: str) -> Token:
        if not self.at("OP", text):
            t = self.tok
            found = "the end" if t.kind == "END" else repr(t.text)
            raise _err(f"expected '{text}', found {found}", self.src, t.pos, max(len(t.text), 1))
        return self.next()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _err(f"nested more than {MAX_DEPTH} levels deep", self.src, self.tok.pos)

    def leave(self) -> None:
        self.depth -= 1

    def unexpected(self, t: Token, what: str) -> FormulaError:
        if t.kind == "END":
            return _err(f"the text ends where {what} was expected", self.src, max(t.pos - 1, 0))
        return _err(f"unexpected {t.text!r} where {what} was expected", self.src, t.pos, len(t.text))

    # -- formula layer
    def formula(self) -> Formula:
        lhs = None
        if not self.at("OP", "~"):
            lhs = self.expression(0)
        if not self.at("OP", "~"):
            t = self.tok
            raise self.unexpected(t, "'~' (formulas are written 'outcome ~ terms')")
        self.next()
        rhs = self.fterm(0)
        if not self.at("END"):
            raise self.unexpected(self.tok, "an operator between terms")
        _check_structure(rhs, self.src, in_sum=True)
        bound = _term_bound(rhs)
        if bound > MAX_TERMS:
            raise _err(
                f"the formula expands to up to {bound} terms; the limit is {MAX_TERMS}",
                self.src,
                0,
                len(self.src),
            )
        return Formula(lhs=lhs, rhs=rhs, source=self.src)

    def fterm(self, min_bp: int) -> Node:
        self.enter()
        t = self.tok
        if t.kind == "OP" and t.text in ("-", "+"):
            self.next()
            operand = self.fterm(_FORMULA_BP["-"] + 1)
            left: Node = Unary(t.pos, operand.end, t.text, operand)
        elif t.kind == "OP" and t.text == "(":
            self.next()
            inner = self.fterm(0)
            close = self.expect(")")
            left = _reposition(inner, t.pos, close.pos + 1)
        else:
            left = self.factor()
        while True:
            t = self.tok
            op = t.text
            if t.kind != "OP" or op not in _FORMULA_BP or _FORMULA_BP[op] < min_bp:
                break
            bp = _FORMULA_BP[op]
            self.next()
            if op in ("**", "^"):
                p = self.tok
                if p.kind != "NUMBER" or not isinstance(p.value, int):
                    raise _err("an interaction power needs a whole number, e.g. (a + b)**2", self.src, p.pos)
                self.next()
                right: Node = Num(p.pos, p.pos + len(p.text), p.value)
            else:
                right = self.fterm(bp + 1)
            left = Binary(left.pos, right.end, _CANON.get(op, op), left, right, formula=True)
        self.leave()
        return left

    def factor(self) -> Node:
        t = self.tok
        if t.kind == "NUMBER":
            self.next()
            return Num(t.pos, t.pos + len(t.text), t.value)  # type: ignore[arg-type]
        if t.kind in ("NAME", "QNAME"):
            return self.name_or_call()
        raise self.unexpected(t, "a term (a name, a call such as log(size), 0 or 1)")

    # -- expression layer (call arguments, left-hand sides, subsets)
    def expression(self, min_bp: int) -> Node:
        self.enter()
        t = self.tok
        if t.kind == "OP" and t.text in ("-", "+"):
            self.next()
            operand = self.expression(30)
            left: Node = Unary(t.pos, operand.end, t.text, operand)
        elif self.subset and ((t.kind == "NAME" and t.text == "not") or (t.kind == "OP" and t.text == "!")):
            self.next()
            operand = self.expression(4)
            left = Unary(t.pos, operand.end, "not", operand)
        else:
            left = self.atom()
        while True:
            t = self.tok
            op = t.text
            if t.kind == "NAME" and op == "not" and self.subset and self._peek_is("in"):
                op = "not in"
            elif t.kind == "NAME" and op in KEYWORDS and self.subset:
                pass
            elif t.kind != "OP":
                break
            key = "in" if op == "not in" else op
            if key not in _EXPR_BP or _EXPR_BP[key] < min_bp:
                break
            if not self.subset and (key in _COMPARE or key in ("and", "or", "&", "|", "in")):
                break
            bp = _EXPR_BP[key]
            self.next()
            if op == "not in":
                self.next()
            if key == "in":
                items = self.atom()
                if not isinstance(items, ListLit):
                    raise _err(
                        "'in' needs a list of values, e.g. district in ['D01', 'D02']", self.src, items.pos
                    )
                left = InList(left.pos, items.end, left, items, negate=op == "not in")
                continue
            if key in _COMPARE and isinstance(left, Binary) and left.op in _COMPARE:
                raise _err("chained comparisons are not allowed; join them with 'and'", self.src, t.pos)
            right = self.expression(bp if key in ("**", "^") else bp + 1)
            left = Binary(left.pos, right.end, _CANON.get(key, key), left, right)
        self.leave()
        return left

    def _peek_is(self, text: str) -> bool:
        nxt = self.toks[self.i + 1]
        return nxt.kind == "NAME" and nxt.text == text

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "NUMBER":
            self.next()
            return Num(t.pos, t.pos + len(t.text), t.value)  # type: ignore[arg-type]
        if t.kind == "STRING":
            self.next()
            return Str(t.pos, t.pos + len(t.text), str(t.value))
        if t.kind in ("NAME", "QNAME"):
            return self.name_or_call()
        if t.kind == "OP" and t.text == "(":
            self.next()
            inner = self.expression(0)
            close = self.expect(")")
            return _reposition(inner, t.pos, close.pos + 1)
        if t.kind == "OP" and t.text == "[":
            self.next()
            items: list[Node] = []
            while not self.at("OP", "]"):
                if len(items) >= MAX_LIST:
                    raise _err(f"a list may hold at most {MAX_LIST} values", self.src, self.tok.pos)
                items.append(self.expression(0))
                if not self.at("OP", "]"):
                    self.expect(",")
            close = self.next()
            return ListLit(t.pos, close.pos + 1, tuple(items))
        raise self.unexpected(t, "a value (a name, number, string, list or call)")

    def name_or_call(self) -> Node:
        t = self.next()
        if t.kind == "NAME" and t.text in KEYWORDS:
            raise _err(f"{t.text!r} is a keyword and cannot be used here", self.src, t.pos, len(t.text))
        if not self.at("OP", "("):
            return Name(t.pos, t.pos + len(t.text), str(t.value), quoted=t.kind == "QNAME")
        if t.kind == "QNAME":
            raise _err("a `quoted name` cannot be called", self.src, t.pos, len(t.text))
        self.next()
        self.enter()
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while not self.at("OP", ")"):
            if len(args) + len(kwargs) >= MAX_LIST:
                raise _err(f"a call may have at most {MAX_LIST} arguments", self.src, self.tok.pos)
            a = self.tok
            if a.kind == "NAME" and self.toks[self.i + 1].kind == "OP" and self.toks[self.i + 1].text == "=":
                self.next()
                self.next()
                if any(k == a.text for k, _ in kwargs):
                    raise _err(f"keyword argument {a.text!r} given twice", self.src, a.pos, len(a.text))
                kwargs.append((a.text, self.expression(0)))
            else:
                if kwargs:
                    raise _err("a positional argument follows a keyword argument", self.src, a.pos)
                args.append(self.expression(0))
            if not self.at("OP", ")"):
                self.expect(",")
        close = self.next()
        self.leave()
        return Call(t.pos, close.pos + 1, t.text, tuple(args), tuple(kwargs))


def _check_structure(node: Node, src: str, *, in_sum: bool) -> None:
    """Numbers and signs only as whole terms; interaction powers of sums with a small whole exponent."""
    span = {"length": node.end - node.pos}
    if isinstance(node, Binary) and node.formula:
        if node.op in ("+", "-"):
            _check_structure(node.left, src, in_sum=in_sum)
            _check_structure(node.right, src, in_sum=in_sum)
        elif node.op == "**":
            base, power = node.left, node.right
            if not (isinstance(base, Binary) and base.formula and base.op in ("+", "-")):
                raise _err(
                    f"{render(node)} in a formula is the interaction power, which leaves a single term "
                    f"unchanged (as in R); write I({render(base)}**{render(power)}) for the arithmetic "
                    "power, or density_sq for the squared density",
                    src,
                    node.pos,
                    **span,
                )
            if not (isinstance(power, Num) and 1 <= int(power.value) <= MAX_POWER):
                raise _err(f"interaction powers must be between 1 and {MAX_POWER}", src, power.pos)
            _check_structure(base, src, in_sum=False)
        else:
            _check_structure(node.left, src, in_sum=False)
            _check_structure(node.right, src, in_sum=False)
    elif isinstance(node, Unary):
        if not in_sum:
            raise _err(
                "a sign is only allowed in front of a whole term (e.g. '- a:b' or '-1')",
                src,
                node.pos,
                **span,
            )
        _check_structure(node.operand, src, in_sum=True)
    elif isinstance(node, Num):
        if not in_sum or node.value not in (0, 1):
            raise _err(
                f"a number in a formula can only be 0 or 1 as a term of its own (the intercept), not "
                f"{render(node)} here; write I(...) for arithmetic",
                src,
                node.pos,
                **span,
            )


def _term_bound(node: Node) -> int:
    """Upper bound of the number of model terms a right-hand side expands to (before anything is built)."""
    if isinstance(node, Binary) and node.formula:
        a = _term_bound(node.left)
        if node.op == "**":
            k = int(node.right.value)  # type: ignore[attr-defined]
            return sum(math.comb(a, j) for j in range(1, min(k, a) + 1))
        b = _term_bound(node.right)
        return {"+": a + b, "-": a, ":": a * b, "*": a + b + a * b, "/": a + a * b}[node.op]
    if isinstance(node, Unary):
        return _term_bound(node.operand)
    return 1


def _reposition(node: Node, pos: int, end: int) -> Node:
    """A parenthesized node keeps its own span (positions point at the content)."""
    del pos, end
    return node


def parse_formula(text: str) -> Formula:
    """Parse a model formula ``lhs ~ rhs`` (or ``~ rhs``) into a syntax tree.

    Examples
    --------
    >>> f = parse_formula("foundings ~ density + I(density**2) + density:C(period, ref='pre')")
    >>> render(f.rhs)
    "density + I(density**2) + density:C(period, ref='pre')"
    """
    return _Parser(text).formula()


def parse_expression(text: str, *, subset: bool = True) -> Node:
    """Parse a subset expression (comparisons, ``in``, ``and``/``or``/``not``) or a plain expression."""
    p = _Parser(text, subset=subset)
    if p.at("END"):
        raise FormulaError("empty expression", source=text, pos=0)
    node = p.expression(0)
    if not p.at("END"):
        raise p.unexpected(p.tok, "an operator")
    return node


# ----------------------------------------------------------------------------------------- render

_RENDER_BP = {"or": 2, "and": 3, "+": 10, "-": 10, "*": 20, "/": 20, ":": 30, "**": 40}
_RENDER_BP.update({op: 5 for op in _COMPARE})


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(node: Node) -> str:
    """Canonical text of a node: the label a term carries in design-matrix columns and results."""
    if isinstance(node, Name):
        return f"`{node.id}`" if node.quoted or not node.id.isidentifier() else node.id
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Str):
        return _quote(node.value)
    if isinstance(node, ListLit):
        return "[" + ", ".join(render(i) for i in node.items) + "]"
    if isinstance(node, Call):
        parts = [render(a) for a in node.args] + [f"{k}={render(v)}" for k, v in node.kwargs]
        return f"{node.func}({', '.join(parts)})"
    if isinstance(node, Unary):
        inner = render(node.operand)
        if isinstance(node.operand, Binary) and node.operand.op != "**":
            inner = f"({inner})"
        return f"not {inner}" if node.op == "not" else f"{node.op}{inner}"
    if isinstance(node, InList):
        return f"{render(node.left)} {'not in' if node.negate else 'in'} {render(node.items)}"
    if isinstance(node, Binary):
        bp = _RENDER_BP[node.op]

        def side(child: Node, right: bool) -> str:
            text = render(child)
            if isinstance(child, Binary):
                cbp = _RENDER_BP[child.op]
                if cbp < bp or (cbp == bp and (right != (node.op == "**"))):
                    return f"({text})"
            return text

        left, right = side(node.left, False), side(node.right, True)
        tight = node.op in ("**", ":") or (node.formula and node.op in ("*", "/"))
        return f"{left}{node.op}{right}" if tight else f"{left} {node.op} {right}"
    raise TypeError(f"cannot render {type(node).__name__}")


def render_formula(f: Formula) -> str:
    """Canonical text of a whole formula."""
    return (render(f.lhs) + " ~ " if f.lhs is not None else "~ ") + render(f.rhs)
