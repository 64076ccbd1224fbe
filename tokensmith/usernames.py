"""Usernames: one normalised key for every comparison, and the rules a new name must pass.

The key is what makes two spellings the same account: Unicode NFKC (so full-width `ａｌｉｃｅ` and
ligatures fold to plain letters) and full case folding (`Ünal`, `ünal` and `ÜNAL` are one name; `ß` and
`ss` too), the mapping of the PRECIS UsernameCaseMapped profile (RFC 8265). It is computed here, in
Python, never by the database's `lower()`, so SQLite (ASCII-only `lower()`) and PostgreSQL agree. The
`users.username_key` column holds it under a UNIQUE constraint; every look-up goes through `key()`.

A new name is refused (`InvalidValue`, with a message that says why) when it could fool a reader:
control and format characters (zero-width joiners, bidirectional overrides and isolates), other
characters Unicode marks as default-ignorable (invisible), unassigned code points, names that are only
whitespace, and letters from more than one script, except the combinations one language writes
together (UTS #39's "highly restrictive" level: Latin with Han and Kana, with Han and Bopomofo, or with
Han and Hangul). So `pаypal` with a Cyrillic `а` is refused, `山田taro` is not. Existing accounts are
never refused at login: rules apply to names being created.
"""

from __future__ import annotations

import unicodedata

from tokensmith.errors import InvalidValue
from tokensmith.text import NUL

MAX_LENGTH = 255

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): characters that render as
# nothing. Most are format characters (category Cf, refused anyway); the rest are fillers and selectors.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

# Scripts one language writes together (UTS #39 section 5.2, "highly restrictive").
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# First word of a letter's Unicode name -> its script, where the two differ.
_SCRIPT_ALIASES = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "HALFWIDTH": "KATAKANA",
    "KATAKANA-HIRAGANA": "KATAKANA",
}
_COMMON_LETTER_WORDS = {"MODIFIER"}  # modifier letters are used with every script


def key(username: str) -> str:
    """The comparison key of a name: NFKC, case-folded, NFKC again (casefold can un-normalise), and
    whitespace trimmed and collapsed, so `alice`, ` alice` (a no-break space) and `Alice` are one key."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return " ".join(folded.split())


def lookup_key(username: object) -> str | None:
    """The key to look a submitted name up by, or None when no stored account can have it (not text,
    a NUL, a lone surrogate or too long): the caller treats that as "no such user" without a query."""
    if not isinstance(username, str) or NUL in username:
        return None
    result = key(username)
    if len(result) > MAX_LENGTH:
        return None
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return result


def checked(username: str, field: str = "username") -> tuple[str, str]:
    """(display name, key) of a name being created; `InvalidValue(field, ...)` says what is wrong.

    The display name is the submitted one, trimmed and NFC-composed; the key is `key()`.
    """
    if not isinstance(username, str):
        raise InvalidValue(field, "A username must be text.")
    name = unicodedata.normalize("NFC", username).strip()
    if not name:
        message = "must not be only whitespace" if username else "must not be empty"
        raise InvalidValue(field, f"A username {message}.")
    for char in name:
        problem = _refused_character(char)
        if problem:
            raise InvalidValue(field, f"A username may not contain {problem} (U+{ord(char):04X}).")
    if not key(name):
        raise InvalidValue(field, "A username must not be only whitespace.")  # e.g. U+3000 alone
    scripts = _scripts(name)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        names = " and ".join(sorted(s.title() for s in scripts))
        raise InvalidValue(
            field, f"A username may not mix letters of different scripts ({names}): they can look alike."
        )
    normalised = key(name)
    if len(name) > MAX_LENGTH or len(normalised) > MAX_LENGTH:
        raise InvalidValue(field, f"A username may have at most {MAX_LENGTH} characters.")
    return name, normalised


def _refused_character(char: str) -> str | None:
    category = unicodedata.category(char)
    code = ord(char)
    if category == "Cc":
        return "control characters"
    if category == "Cs":
        return "unpaired surrogates"
    if category == "Cn":
        return "unassigned characters"
    if category == "Co":
        return "private-use characters"
    if category in ("Zl", "Zp"):
        return "line or paragraph separators"
    if unicodedata.bidirectional(char) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"):
        return "bidirectional control characters"
    if category == "Cf" or any(low <= code <= high for low, high in _DEFAULT_IGNORABLE):
        return "invisible characters"
    return None


def _scripts(name: str) -> frozenset[str]:
    """Scripts of the name's letters (digits, punctuation and marks belong to every script)."""
    found = set()
    for char in unicodedata.normalize("NFKC", name):
        if unicodedata.category(char).startswith("L"):
            word = unicodedata.name(char, "UNKNOWN").split(" ")[0]
            if word not in _COMMON_LETTER_WORDS:
                found.add(_SCRIPT_ALIASES.get(word, word))
    return frozenset(found)
