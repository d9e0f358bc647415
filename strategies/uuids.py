"""Hypothesis strategies for the doc's UUID pattern: valid ids and labelled invalid ones.

The doc's pattern (RFC 9562 layout) allows versions 1-8 in the 13th hex digit,
variants 8, 9, a, b in the 17th, either case, or the nil UUID. Hypothesis's own
``st.uuids()`` yields lower-case versions 1-5 only, so it never reaches the
cases lenient or over-strict servers get wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.strategies._labels import Invalid

__all__ = [
    "EDGE_UUIDS",
    "INVALID_UUID_CLASSES",
    "MAX_UUID",
    "NEAR_MISS_KINDS",
    "NIL_UUID",
    "Invalid",
    "invalid_uuids",
    "near_misses",
    "simplest_invalid_uuids",
    "valid_uuids",
]

# RFC 9562 section 5.9 (nil) and 5.10 (max). The doc's pattern allows the nil
# UUID and not the max one.
NIL_UUID = "00000000-0000-0000-0000-000000000000"
MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

# Boundaries of the pattern (RFC 9562 section 4.1 variant, 4.2 version): the
# lowest and highest version and variant nibbles, all-zero and all-f payloads.
EDGE_UUIDS: tuple[str, ...] = (
    NIL_UUID,
    "00000000-0000-1000-8000-000000000000",
    "ffffffff-ffff-8fff-bfff-ffffffffffff",
    "FFFFFFFF-FFFF-8FFF-BFFF-FFFFFFFFFFFF",
    "00000000-0000-8000-b000-000000000000",
    "ffffffff-ffff-1fff-9fff-ffffffffffff",
    "3c90c3cc-0d44-4b50-8888-8dd25736052a",  # the doc's example id
    "017F22E2-79B0-7CC3-98C4-DC0C0C07398F",  # RFC 9562 appendix A.6 (v7), upper case
)

_VERSIONS = "12345678"
_VARIANTS = "89ab"
_HEX = "0123456789abcdef"
_CASES = ("lower", "upper", "mixed")
_EDGE_CHANCE = 10  # one draw in ten is an edge case from EDGE_UUIDS


_PAYLOAD_BITS = 120  # 32 hex digits less the version and variant nibbles


def _layout(payload: int, version: str, variant: str) -> str:
    digits = f"{payload:030x}"
    return f"{digits[:8]}-{digits[8:12]}-{version}{digits[12:15]}-{variant}{digits[15:18]}-{digits[18:]}"


def _apply_case(value: str, case: str, mask: int) -> str:
    if case == "upper":
        return value.upper()
    if case == "mixed":
        # One bit of `mask` per character: set means upper case.
        return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(value))
    return value


def _validate_versions(versions: Sequence[int]) -> str:
    chosen = tuple(versions)
    if not chosen or any(
        not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 8 for v in chosen
    ):
        raise InvalidArgument(
            f"versions={versions!r} must be a non-empty collection of integers 1-8"
        )
    return "".join(str(v) for v in sorted(set(chosen)))


def valid_uuids(
    *, versions: Sequence[int] = range(1, 9), case: str = "any", allow_nil: bool = True
) -> st.SearchStrategy[str]:
    """UUID strings that match the doc's pattern.

    Every version in ``versions`` (1-8) and every variant (8, 9, a, b) is
    drawn; ``case`` is ``"lower"``, ``"upper"``, ``"mixed"`` or ``"any"``.
    With ``allow_nil`` the nil UUID may appear. One draw in ten is an edge
    case (nil, all-f payloads, lowest and highest nibbles, the doc's example).
    Shrinks toward ``00000000-0000-1000-8000-000000000000`` in lower case.
    """
    chosen = _validate_versions(versions)
    if case not in (*_CASES, "any"):
        raise InvalidArgument(f"case={case!r} must be one of lower, upper, mixed, any")
    if not isinstance(allow_nil, bool):
        raise InvalidArgument(f"allow_nil={allow_nil!r} must be a bool")
    edges = [
        e.lower()
        for e in EDGE_UUIDS
        if (e == NIL_UUID and allow_nil) or (e != NIL_UUID and e[14] in chosen)
    ]
    cases = _CASES if case == "any" else (case,)

    # One composite, no flatmap: flatmap is costly in Hypothesis, and the
    # run draws thousands of these.
    @st.composite
    def build(draw: st.DrawFn) -> str:
        if edges and draw(st.integers(0, _EDGE_CHANCE - 1)) == _EDGE_CHANCE - 1:
            value = draw(st.sampled_from(edges))
        else:
            value = _layout(
                draw(st.integers(0, 2**_PAYLOAD_BITS - 1)),
                draw(st.sampled_from(chosen)),
                draw(st.sampled_from(_VARIANTS)),
            )
        chosen_case = draw(st.sampled_from(cases))
        mask = draw(st.integers(0, 2**36 - 1)) if chosen_case == "mixed" else 0
        return _apply_case(value, chosen_case, mask)

    return build()


# --- Invalid ids. Each class is a builder from a valid lower-case UUID to an
# invalid value; the label names the class.

_LOOKALIKES = {
    "0": "\uff10",  # FULLWIDTH DIGIT ZERO
    "1": "\u0661",  # ARABIC-INDIC DIGIT ONE
    "a": "\u0430",  # CYRILLIC SMALL LETTER A
    "c": "\u0441",  # CYRILLIC SMALL LETTER ES
    "e": "\u0435",  # CYRILLIC SMALL LETTER IE
}


def _swap_nibble(value: str, index: int, replacement: str) -> str:
    return value[:index] + replacement + value[index + 1 :]


def _lookalike(value: str, draw: st.DrawFn) -> str:
    positions = [i for i, c in enumerate(value) if c in _LOOKALIKES]
    if not positions:
        return "\uff10" + value[1:]
    i = draw(st.sampled_from(positions))
    return value[:i] + _LOOKALIKES[value[i]] + value[i + 1 :]


def _shifted_hyphens(base: str) -> str:
    digits = base.replace("-", "")
    return f"{digits[:7]}-{digits[7:11]}-{digits[11:15]}-{digits[15:19]}-{digits[19:]}"


_Builder = Callable[[st.DrawFn, str], str]

# Each builder turns `base`, a valid lower-case v1-v8 UUID, into a value that
# differs from a valid one in exactly the way its class names.
_INVALID_BUILDERS: dict[str, _Builder] = {
    "version-0": lambda draw, base: _swap_nibble(base, 14, "0"),
    "version-9-f": lambda draw, base: _swap_nibble(base, 14, draw(st.sampled_from("9abcdef"))),
    "variant-0-7": lambda draw, base: _swap_nibble(base, 19, draw(st.sampled_from("01234567"))),
    "variant-c-f": lambda draw, base: _swap_nibble(base, 19, draw(st.sampled_from("cdef"))),
    "max-uuid": lambda draw, base: draw(st.sampled_from((MAX_UUID, MAX_UUID.upper()))),
    "no-hyphens": lambda draw, base: base.replace("-", ""),
    "braces": lambda draw, base: "{" + base + "}",
    "urn-prefix": lambda draw, base: draw(st.sampled_from(("urn:uuid:", "URN:UUID:"))) + base,
    "misplaced-hyphens": lambda draw, base: _shifted_hyphens(base),
    "length-35": lambda draw, base: base[:-1],
    "length-37": lambda draw, base: base + draw(st.sampled_from(_HEX)),
    "trailing-newline": lambda draw, base: base + "\n",
    "leading-newline": lambda draw, base: "\n" + base,
    "surrounding-whitespace": lambda draw, base: (
        draw(st.sampled_from((" ", "\t", "\u00a0"))) + base + draw(st.sampled_from(("", " ", "\t")))
    ),
    "non-hex-letter": lambda draw, base: _swap_nibble(base, 0, draw(st.sampled_from("gGzZ"))),
    "non-ascii-lookalike": lambda draw, base: _lookalike(base, draw),
    "zero-width-character": lambda draw, base: base[:9] + "\u200b" + base[9:],
    "path-separator": lambda draw, base: draw(
        st.sampled_from(
            (base[:8] + "/" + base[9:], "../" + base, base + "/x", base[:8] + "\\" + base[9:])
        )
    ),
    "percent-significant": lambda draw, base: draw(
        st.sampled_from((base + "%", base + "?x=1", base + "#f", base[:8] + "%2d" + base[9:]))
    ),
    "overlong": lambda draw, base: base * draw(st.integers(2, 60)),
    "empty-looking": lambda draw, base: draw(
        st.sampled_from(("", " ", "null", "undefined", "0", "-", "None", "{}"))
    ),
}


INVALID_UUID_CLASSES: tuple[str, ...] = tuple(_INVALID_BUILDERS)


def _validate_classes(
    classes: Sequence[str] | None, known: Sequence[str], what: str
) -> tuple[str, ...]:
    if classes is None:
        return tuple(known)
    chosen = tuple(classes)
    unknown = [c for c in chosen if c not in known]
    if not chosen or unknown:
        raise InvalidArgument(
            f"classes={classes!r}: unknown {what} {unknown}; choose from {list(known)}"
        )
    return chosen


def _first_choice(strategy: st.SearchStrategy[object]) -> object:
    # The builders draw only from sampled_from and integers; their simplest
    # choice is the first element or the lower bound, as Hypothesis shrinks.
    inner = getattr(strategy, "wrapped_strategy", strategy)
    if hasattr(inner, "elements"):
        return inner.elements[0]
    return inner.start


def simplest_invalid_uuids() -> dict[str, Invalid]:
    """The simplest value of every invalid class, built from the simplest valid UUID.

    What :func:`invalid_uuids` shrinks toward for each class, computed
    directly (no search), so a run can send every class once, cheaply.
    """
    base = _layout(0, "1", "8")
    return {
        name: Invalid(builder(_first_choice, base), name, frozenset({"body.uuid"}))  # type: ignore[arg-type]
        for name, builder in _INVALID_BUILDERS.items()
    }


def invalid_uuids(*, classes: Sequence[str] | None = None) -> st.SearchStrategy[Invalid]:
    """Values that must not match the doc's UUID pattern, each labelled with its class.

    ``classes`` limits the draw to names from :data:`INVALID_UUID_CLASSES`.
    Every class is equally likely; within a class the value is built from a
    valid UUID drawn by :func:`valid_uuids` in lower case, so a failure
    shrinks toward the first class and the smallest valid base.
    """
    chosen = _validate_classes(classes, INVALID_UUID_CLASSES, "UUID classes")

    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        name = draw(st.sampled_from(chosen))
        base = draw(valid_uuids(case="lower", allow_nil=False))
        return Invalid(_INVALID_BUILDERS[name](draw, base), name, frozenset({"body.uuid"}))

    return build()


# Near misses of one held id: non-canonical forms that a lenient UUID parser
# turns back into that id, so a service using it answers 200 where the doc's
# pattern says 4xx. Which parsers accept which form is surveyed in
# spec/near-misses.yaml (and spec/README.md); each builder returns None where
# its form does not apply to the id (a Java short group needs a group that
# starts with 0). The order is the shrinking order: braces first.


def _in_first_zero_group(value: str, change: Callable[[str], str]) -> str | None:
    # Java parses each group as a number, so a group that starts with 0 can
    # lose the zero or trade it for a sign and still be the same group.
    groups = value.split("-")
    for i, group in enumerate(groups):
        if len(group) > 1 and group[0] == "0":
            return "-".join([*groups[:i], change(group), *groups[i + 1 :]])
    return None


def _every_four(value: str) -> str:
    digits = value.replace("-", "")
    return "-".join(digits[i : i + 4] for i in range(0, 32, 4))


def _dotnet_x(value: str) -> str:
    digits = value.replace("-", "")
    tail = ",".join("0x" + digits[i : i + 2] for i in range(16, 32, 2))
    return f"{{0x{digits[:8]},0x{digits[8:12]},0x{digits[12:16]},{{{tail}}}}}"


def _unicode_digit(value: str) -> str | None:
    # The first ASCII digit as its FULLWIDTH form (U+FF10-U+FF19).
    index = next((i for i, c in enumerate(value) if c.isdigit()), None)
    if index is None:
        return None
    return value[:index] + chr(0xFF10 + int(value[index])) + value[index + 1 :]


_NEAR_MISS_BUILDERS: dict[str, Callable[[str], str | None]] = {
    "braces": lambda v: "{" + v + "}",
    "braces-simple": lambda v: "{" + v.replace("-", "") + "}",
    "parentheses": lambda v: "(" + v + ")",
    "brackets": lambda v: "[" + v + "]",
    "urn-prefix": lambda v: "urn:uuid:" + v,
    "urn-prefix-upper": lambda v: "URN:UUID:" + v,
    "urn-simple": lambda v: "urn:uuid:" + v.replace("-", ""),
    "uuid-prefix": lambda v: "uuid:" + v,
    "no-hyphens": lambda v: v.replace("-", ""),
    "hyphen-every-four": _every_four,
    "hyphen-trailing": lambda v: v + "-",
    "braces-unbalanced": lambda v: "{" + v,
    "java-short-group": lambda v: _in_first_zero_group(v, lambda g: g[1:]),
    "plus-sign-in-group": lambda v: _in_first_zero_group(v, lambda g: "+" + g[1:]),
    "unicode-digit": _unicode_digit,
    "dotnet-hex-struct": _dotnet_x,
    "surrounding-whitespace": lambda v: " " + v + " ",
    "trailing-newline": lambda v: v + "\n",
    "suffix": lambda v: v + "0",
    "prefix": lambda v: "0" + v,
}

NEAR_MISS_KINDS: tuple[str, ...] = tuple(_NEAR_MISS_BUILDERS)


def near_miss(value: str, kind: str) -> str | None:
    """``value`` turned into the near miss ``kind`` (of :data:`NEAR_MISS_KINDS`); None where it does not apply."""
    builder = _NEAR_MISS_BUILDERS.get(kind)
    if builder is None:
        raise InvalidArgument(f"kind={kind!r} must be one of {list(NEAR_MISS_KINDS)}")
    return builder(value)


def near_misses(uuid: str, *, kinds: Sequence[str] | None = None) -> st.SearchStrategy[Invalid]:
    """Invalid ids that a lenient server would read as ``uuid`` itself.

    Draws one of ``kinds`` (default: all of :data:`NEAR_MISS_KINDS`) that
    applies to ``uuid``, shrinking toward braces, the first kind.
    """
    if not isinstance(uuid, str):
        raise InvalidArgument(f"uuid={uuid!r} must be a string")
    chosen = _validate_classes(kinds, NEAR_MISS_KINDS, "near-miss kinds")
    forms = [(kind, near_miss(uuid, kind)) for kind in chosen]
    applicable = [(kind, value) for kind, value in forms if value is not None]
    if not applicable:
        raise InvalidArgument(f"none of the near-miss kinds {list(chosen)} applies to {uuid!r}")
    return st.sampled_from(applicable).map(
        lambda pair: Invalid(pair[1], pair[0], frozenset({"body.uuid"}))
    )
