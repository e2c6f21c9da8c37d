"""One identity for a person, however their name and employer are typed.

A gift recipient is found by a key made from the name and the employer the way
compliance tools match people: Unicode NFKC; format and control characters
(zero-width spaces and joiners, soft hyphens, byte-order marks) removed;
letters that look alike mapped to one prototype (Unicode TS #39 confusables,
from the `confusable-homoglyphs` package's copy of Unicode's data); case,
accents and punctuation folded; white space collapsed; and, for the employer,
legal-form suffixes (`Inc`, `LLC`, `L.L.C.`, `Ltd`, `GmbH`, …) and a leading
`The` ignored.

Beyond exact keys, `likely_matches` finds people whose keys are close
(`rapidfuzz`): a gift to a new recipient who resembles an existing one is
refused until the caller says which one it is, or that it is someone else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from uuid import UUID

from confusable_homoglyphs import confusables
from rapidfuzz import fuzz

LEGAL_FORMS = frozenset(
    {
        "ab", "ag", "as", "asa", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated",
        "kg", "kk", "lc", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "plc", "pllc", "pte", "pty",
        "sa", "sarl", "sas", "se", "spa", "srl",
    }
)  # fmt: skip
"""Legal-form words that name no firm of their own: `Acme`, `Acme Inc.` and `ACME, L.L.C.` are one employer."""

LIKELY = 88.0
"""How alike (0-100, rapidfuzz) two names, and two employers, must both be for the people to be likely the same."""

_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Mn", "Me"})
_JOINING_PUNCTUATION = frozenset("'\u2019\u2018`\u00b4.")
"""Dropped without a space: `O'Brien` is `OBrien`, `L.L.C.` is `LLC`. Other punctuation separates words."""


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character's prototype, as TS #39's confusables.txt maps it (single characters only)."""
    mapping: dict[str, str] = {}
    for character, alikes in confusables.confusables_data.items():
        if len(character) != 1 or len(alikes) != 1:
            continue  # a prototype lists its many look-alikes; a look-alike names its one prototype
        target = "".join(c for c in alikes[0]["c"] if unicodedata.category(c) != "Cf")
        if len(target) == 1:
            mapping[character] = target
    # Where two characters name each other, the lower code point is the prototype of both.
    for character, target in list(mapping.items()):
        if mapping.get(target) == character and ord(target) > ord(character):
            mapping[target] = character
            del mapping[character]
    return mapping


def _skeleton(text: str) -> str:
    prototypes = _prototypes()
    return "".join(prototypes.get(character, character) for character in text)


def _folded_words(text: str) -> list[str]:
    """The words of `text` with case, accents, look-alike letters, invisible characters and punctuation folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _skeleton(text).casefold()
    text = unicodedata.normalize("NFKD", text)
    kept = []
    for character in text:
        if character.isspace():
            kept.append(" ")
            continue
        category = unicodedata.category(character)
        if category in _REMOVED_CATEGORIES or character in _JOINING_PUNCTUATION:
            continue
        kept.append(character if category[0] in "LN" else " ")
    return "".join(kept).split()


def person_key(name: str) -> str:
    """A person's name as their identity compares it."""
    return " ".join(_folded_words(name))


def firm_key(employer: str) -> str:
    """An employer as their identity compares it: without a leading `The` or trailing legal forms."""
    words = _folded_words(employer)
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words = words[:-1]
    return " ".join(words)


def identity_key(name: str, employer: str) -> str:
    """The key of one person at one employer: equal for every spelling of them."""
    return f"{person_key(name)}\x1f{firm_key(employer)}"


@dataclass(frozen=True)
class KnownRecipient:
    """A recipient as the index knows them: their id, their keys, and how they were first spelt."""

    recipient_id: UUID
    name_key: str
    employer_key: str
    name: str
    employer: str


@dataclass(frozen=True)
class LikelyMatch:
    """An existing recipient who resembles the one a gift names, and how closely (0-100)."""

    recipient: KnownRecipient
    name_score: float
    employer_score: float


def likely_matches(name: str, employer: str, known: Iterable[KnownRecipient]) -> list[LikelyMatch]:
    """The known recipients whose name and employer both closely resemble these, closest first."""
    name_wanted, employer_wanted = person_key(name), firm_key(employer)
    found = []
    for candidate in known:
        name_score = fuzz.token_sort_ratio(name_wanted, candidate.name_key)
        if name_score < LIKELY:
            continue
        # One employer's name inside the other's ("Initech", "Initech Holdings") counts as alike too.
        employer_score = fuzz.token_set_ratio(employer_wanted, candidate.employer_key)
        if employer_score >= LIKELY:
            found.append(LikelyMatch(candidate, name_score, employer_score))
    return sorted(found, key=lambda match: -(match.name_score + match.employer_score))
