"""ECMA-262 regular expressions, evaluated with ECMA-262 semantics in Python.

JSON Schema and OpenAPI 3.1 define ``pattern`` as an ECMA-262 regular
expression applied with *search* semantics and Unicode mode. Python's ``re``
reads the same text differently, and each difference lets a contract-breaking
value through:

- ``$`` also matches before a final ``\\n`` (ECMA: only at the end of input);
- ``\\d``, ``\\w`` and ``\\b`` are Unicode-aware (ECMA: ASCII only);
- ``\\s`` differs in both directions (ECMA adds U+FEFF, removes U+001C-001F);
- ``.`` matches ``\\r``, U+2028 and U+2029 (ECMA: line terminators excluded).

``compile_ecma`` translates the pattern token by token into an equivalent
expression for the ``regex`` module (chosen over ``re`` for ``\\p{...}``
property escapes, which Unicode-mode ECMA patterns may use). The translation
is run by ``re`` where ``re`` reads it exactly as ``regex`` does (see
``_SAME_IN_RE``): two to three times faster on the doc's own patterns, which
every UUID and timestamp of every body goes through.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import regex

__all__ = ["EcmaPattern", "EcmaSyntaxError", "compile_ecma"]

# ECMA-262 section 22.2.2.9 (CharacterClassEscape) over WhiteSpace and
# LineTerminator (sections 12.2, 12.3); the Zs list is Unicode's Space_Separator.
_WHITESPACE = (
    "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
_DIGIT = "0-9"
_WORD = "A-Za-z0-9_"
_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"

# Set complements spelled as ranges: inside a class, `regex` V0 cannot negate
# a sub-class, so [\D] must become explicit ranges.
_NOT_DIGIT = "\\x00-/:-\\U0010ffff"
_NOT_WORD = "\\x00-/:-@\\[-\\^`\\{-\\U0010ffff"
_NOT_WHITESPACE = (
    "\\x00-\\x08\\x0e-\\x1f!-\\x9f\\xa1-\\u167f\\u1681-\\u1fff\\u200b-\\u2027"
    "\\u202a-\\u202e\\u2030-\\u205e\\u2060-\\u2fff\\u3001-\\ufefe\\uff00-\\U0010ffff"
)

_CLASS_ESCAPES = {
    "d": _DIGIT,
    "D": _NOT_DIGIT,
    "w": _WORD,
    "W": _NOT_WORD,
    "s": _WHITESPACE,
    "S": _NOT_WHITESPACE,
}
_CONTROL_ESCAPES = {"t": "\\t", "n": "\\n", "v": "\\x0b", "f": "\\x0c", "r": "\\r"}
# ECMA-262 SyntaxCharacter plus "/" and, in classes, "-": the only identity
# escapes Unicode mode allows.
_SYNTAX = set("^$\\.*+?()[]{}|/")
_WORD_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_WORD_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"


class EcmaSyntaxError(ValueError):
    """The pattern is not a valid Unicode-mode ECMA-262 regular expression."""

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} at position {position} of pattern {pattern!r}")
        self.pattern = pattern
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class EcmaPattern:
    """A compiled ECMA-262 pattern; ``search`` follows JSON Schema's ``pattern``."""

    source: str
    translated: str
    _compiled: regex.Pattern[str] | re.Pattern[str]
    # ``search`` as the engine gives it, a match (true) or None, for the oracle's
    # loops over every UUID and timestamp of a body: the Python call that
    # ``search`` adds costs a third of the search.
    find: Callable[[str], object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "find", self._compiled.search)

    def search(self, value: str) -> bool:
        """Whether the pattern matches anywhere in ``value`` (it is not implicitly anchored)."""
        return self._compiled.search(value) is not None


# Translations ``re`` runs. Of the translator's output, ``re`` refuses to
# compile what only ``regex`` reads (property escapes, lookbehinds of varying
# width, ``(?<name>`` groups). Two more stay with ``regex``: backreferences
# (``\\1``, ``(?P=name)``), whose corner cases no test pins between the two
# engines, and any brace but a counted repetition (``regex`` reads ``x{e<=1}``
# as fuzzy matching, ``re`` as text). tests/harness/test_ecma.py holds the
# engines against each other.
_SAME_IN_RE = re.compile(r"(?:\\[^1-9]|\{[0-9]*(?:,[0-9]*)?\}|\((?!\?P=)|[^\\{(])*")


@functools.lru_cache(maxsize=256)
def compile_ecma(pattern: str) -> EcmaPattern:
    """Compile an ECMA-262 (Unicode mode, no flags) pattern for evaluation in Python."""
    translated = _Translator(pattern).translate()
    try:
        compiled: regex.Pattern[str] | re.Pattern[str] = regex.compile(translated, regex.VERSION0)
    except regex.error as exc:
        raise EcmaSyntaxError(pattern, exc.pos or 0, str(exc)) from exc
    if _SAME_IN_RE.fullmatch(translated):
        # What only `regex` reads (a lookbehind of varying width, a named group) stays with it.
        with contextlib.suppress(re.error):
            compiled = re.compile(translated)
    return EcmaPattern(pattern, translated, compiled)


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0
        self.out: list[str] = []

    def error(self, reason: str) -> EcmaSyntaxError:
        return EcmaSyntaxError(self.pattern, self.pos, reason)

    def translate(self) -> str:
        p = self.pattern
        while self.pos < len(p):
            ch = p[self.pos]
            if ch == "\\":
                self.out.append(self.escape(in_class=False))
                continue
            if ch == "[":
                self.out.append(self.char_class())
                continue
            if ch == "$":
                self.out.append("\\Z")
            elif ch == "^":
                self.out.append("\\A")
            elif ch == ".":
                self.out.append(f"[^{_LINE_TERMINATORS}]")
            elif (
                ch == "("
                and p.startswith("(?<", self.pos)
                and p[self.pos + 3 : self.pos + 4]
                not in (
                    "=",
                    "!",
                )
            ):
                # Named group: ECMA (?<name>...) is Python (?P<name>...).
                self.out.append("(?P<")
                self.pos += 3
                continue
            elif (
                ch == "("
                and p.startswith("(?", self.pos)
                and p[self.pos + 2 : self.pos + 3]
                not in (
                    ":",
                    "=",
                    "!",
                    "<",
                )
            ):
                raise self.error("unsupported group modifier")
            else:
                self.out.append(ch)
            self.pos += 1
        return "".join(self.out)

    def escape(self, *, in_class: bool) -> str:
        p = self.pattern
        self.pos += 1
        if self.pos >= len(p):
            raise self.error("pattern ends with a lone backslash")
        ch = p[self.pos]
        self.pos += 1
        if ch in _CLASS_ESCAPES:
            ranges = _CLASS_ESCAPES[ch]
            return ranges if in_class else f"[{ranges}]"
        if ch in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[ch]
        if ch == "b":
            return "\\x08" if in_class else _WORD_BOUNDARY
        if ch == "B" and not in_class:
            return _NOT_WORD_BOUNDARY
        if ch == "c":
            letter = p[self.pos : self.pos + 1]
            if not letter.isascii() or not letter.isalpha():
                raise self.error("\\c must be followed by an ASCII letter")
            self.pos += 1
            return f"\\x{ord(letter) % 32:02x}"
        if ch == "0" and not p[self.pos : self.pos + 1].isdigit():
            return "\\x00"
        if ch == "x":
            return self.hex_escape(2)
        if ch == "u":
            return self.unicode_escape()
        if ch in "pP":
            end = p.find("}", self.pos)
            if not p.startswith("{", self.pos) or end < 0:
                raise self.error(f"\\{ch} must be followed by {{Property}}")
            body = p[self.pos : end + 1]
            self.pos = end + 1
            return f"\\{ch}{body}"
        if ch.isdigit() and not in_class:
            start = self.pos - 1
            while self.pos < len(p) and p[self.pos].isdigit():
                self.pos += 1
            return "\\" + p[start : self.pos]
        if ch == "k" and not in_class and p.startswith("<", self.pos):
            end = p.index(">", self.pos)
            name = p[self.pos + 1 : end]
            self.pos = end + 1
            return f"(?P={name})"
        if ch in _SYNTAX or (in_class and ch == "-"):
            return "\\" + ch
        raise self.error(f"\\{ch} is not a valid escape in Unicode mode")

    def hex_escape(self, digits: int) -> str:
        text = self.pattern[self.pos : self.pos + digits]
        if len(text) != digits or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise self.error("malformed hexadecimal escape")
        self.pos += digits
        return f"\\U{int(text, 16):08x}"

    def unicode_escape(self) -> str:
        p = self.pattern
        if p.startswith("{", self.pos):
            end = p.find("}", self.pos)
            text = p[self.pos + 1 : end] if end > 0 else ""
            if not text or any(c not in "0123456789abcdefABCDEF" for c in text):
                raise self.error("malformed \\u{...} escape")
            code = int(text, 16)
            if code > 0x10FFFF:
                raise self.error("code point out of range")
            self.pos = end + 1
            return f"\\U{code:08x}"
        return self.hex_escape(4)

    def char_class(self) -> str:
        p = self.pattern
        self.pos += 1
        negated = p.startswith("^", self.pos)
        if negated:
            self.pos += 1
        parts: list[str] = []
        while True:
            if self.pos >= len(p):
                raise self.error("unterminated character class")
            ch = p[self.pos]
            if ch == "]":
                self.pos += 1
                break
            if ch == "\\":
                parts.append(self.escape(in_class=True))
                continue
            # Characters special to Python's class syntax but literal in ECMA's.
            parts.append("\\" + ch if ch in "[&~|" else ch)
            self.pos += 1
        if not parts:
            # ECMA: [] matches nothing and [^] matches any code point.
            return "[\\x00-\\U0010ffff]" if negated else "(?!)"
        return ("[^" if negated else "[") + "".join(parts) + "]"
