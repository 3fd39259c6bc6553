"""Finding what post rules look for in a post's text: words (with false-positive guards) and
personal data (phone numbers, emails, card numbers that pass the Luhn check, IBANs that pass
mod-97). One compiled pattern per rule set scans each post once; personal data is masked before
it is stored, so an escalation never spreads the data it reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.escalate.rules import Rule

CONTEXT_CHARS = 70  # characters kept on each side of a match
GUARD_GAP_WORDS = 3  # a guard may stand this many words before the match ("not going to go to the")
AFTER_WINDOW = 60  # characters after a match searched for an `unless_after` hedge

_SENTENCE_END = re.compile(r"[.!?\n]")

# Patterns start with a character class (no look-behind) so the regex engine can skip ahead to
# candidate characters; the boundary before a match is checked in Python on the few matches.
EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}"
)
_IBAN = r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"
_NUMBER = r"[+(\d][\d \-().]{7,26}\d(?!\w)"
NUMBERS = re.compile(f"(?P<iban>{_IBAN})|(?P<number>{_NUMBER})")
_WORD = re.compile(r"\w+")
# punctuation to spaces: words are then split by str.split (cheaper than a regex)
_PUNCTUATION = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n\t\r…’‘“”", " "))
FEWEST_DIGITS = 9  # a UK phone number has 10 or 11 digits, a card 13 or more, an IBAN more

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21,
    "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27,
}  # fmt: skip
IMEI_PREFIXES = ("01", "35", "86", "99")  # 15-digit Luhn-valid numbers that are handsets


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616: the country's length, and mod 97 = 1 once rearranged (letters as numbers)."""
    iban = text.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None or len(iban) != expected or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def card_kind(digits: str) -> str | None:
    """A payment card brand if `digits` can be a card number (length, prefix and Luhn)."""
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        return None
    if len(digits) == 15 and digits.startswith(IMEI_PREFIXES):
        return None  # an IMEI (handset serial): Luhn-valid but not a card
    if digits[0] == "4" and len(digits) in (13, 16, 19):
        return "Visa"
    if len(digits) == 16 and (51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720):
        return "Mastercard"
    if len(digits) == 15 and digits[:2] in ("34", "37"):
        return "American Express"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "Discover"
    if digits[:2] in ("50", "56", "57", "58", "63", "67"):
        return "Maestro"
    return None


def phone_kind(raw: str, digits: str) -> str | None:
    """'UK mobile', 'UK landline' or 'international' for something shaped like a phone number."""
    if raw.count("(") != raw.count(")"):
        return None
    if digits.startswith("44") and raw.lstrip().startswith("+"):
        national = digits[2:]
    elif digits.startswith("0") and not digits.startswith("00"):
        national = digits[1:]
    elif raw.lstrip().startswith("+") and 8 <= len(digits) <= 15:
        return "international"
    else:
        return None
    if national.startswith("0"):  # "+44 (0)7700 ..." written with the trunk zero
        national = national[1:]
    if len(national) != 10:
        return None
    if national[0] == "7":
        return "UK mobile"
    if national[0] in "123":
        return "UK landline"
    return None


def mask(kind: str, text: str) -> str:
    """The found data with most of it hidden: enough for a moderator to recognise it."""
    if kind == "email":
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    keep = re.sub(r"[^0-9A-Za-z]", "", text)
    return f"{'•' * 4}{keep[-4:]}" if len(keep) > 4 else "••••"


def _masked(
    text: str, found: list[tuple[str, str, re.Match[str]]], first: re.Match[str]
) -> tuple[str, int]:
    """`text` with every piece of personal data found in it masked (not only the one a hit
    shows: the sentence around it is stored too), and where `first` begins in it."""
    parts: list[str] = []
    done = 0
    at = first.start()
    for detector, _, match in sorted(found, key=lambda f: f[2].start()):
        on_first = match is not first and match.start() < first.end()
        if match.start() < done or (on_first and first.start() < match.end()):
            continue  # overlaps one masked already, or the one the hit shows (never skipped)
        parts.append(text[done : match.start()])
        if match is first:
            at = sum(map(len, parts))
        parts.append(mask(detector, match.group(0)))
        done = match.end()
    parts.append(text[done:])
    return "".join(parts), at


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class Hit:
    """One rule firing on one post: what matched and the sentence around it (masked if needed).

    `start`/`end` are the match's span inside `context`, for highlighting.
    """

    rule: Rule
    matched: str
    context: str
    start: int
    end: int
    detail: str


def _context(
    text: str, start: int, end: int, replacement: str | None = None
) -> tuple[str, int, int]:
    left = max(0, start - CONTEXT_CHARS)
    right = min(len(text), end + CONTEXT_CHARS)
    before = ("…" if left else "") + text[left:start]
    middle = replacement if replacement is not None else text[start:end]
    after = text[end:right] + ("…" if right < len(text) else "")
    flat = [" ".join(part.split()) if part.strip() else part for part in (before, middle, after)]
    before_f = flat[0] + (" " if before[-1:].isspace() and flat[0] else "")
    after_f = (" " if after[:1].isspace() and flat[2] else "") + flat[2]
    return before_f + flat[1] + after_f, len(before_f), len(before_f) + len(flat[1])


def _guards(phrases: tuple[str, ...], before: bool) -> re.Pattern[str] | None:
    if not phrases:
        return None
    alternatives = "|".join(re.escape(p.lower()) for p in sorted(phrases, key=len, reverse=True))
    if before:
        return re.compile(rf"\b(?:{alternatives})\b(?:\W+\w+){{0,{GUARD_GAP_WORDS}}}\W*$")
    return re.compile(rf"\b(?:{alternatives})\b")


class PostMatcher:
    """Every post rule of a rule set, compiled once; `scan(text)` returns the hits."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.keyword_rules = [r for r in rules if r.kind == "keywords"]
        # rules that also read what helpers write (not only the asker's own posts)
        self.any_author = any(not r.only_asker for r in self.keyword_rules)
        self.personal_rules = [r for r in rules if r.kind == "personal_data"]
        owners: dict[str, list[int]] = {}
        for index, rule in enumerate(self.keyword_rules):
            for word in rule.words:
                owners.setdefault(word.lower(), []).append(index)
        self._owners = owners
        # a cheap first pass: the words of each phrase, keyed by its first word; the precise
        # pattern (boundaries, guards) runs only on posts holding every word of some phrase
        self._phrases: dict[str, list[tuple[tuple[str, ...], re.Pattern[str]]]] = {}
        for phrase in owners:
            tokens = tuple(_WORD.findall(phrase))
            if tokens:
                # searched in the lower-cased text, starting with a literal (fast); the word
                # boundaries are checked on the few matches (see _scan_words)
                pattern = re.compile(re.escape(phrase).replace(r"\ ", r"\s+"))
                self._phrases.setdefault(tokens[0], []).append((tokens[1:], pattern))
        words = sorted(owners, key=len, reverse=True)
        self._words = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if words
            else None
        )
        self._before = [_guards(r.unless_before, True) for r in self.keyword_rules]
        self._after = [_guards(r.unless_after, False) for r in self.keyword_rules]

    def _candidates(self, lowered: str) -> list[re.Pattern[str]]:
        """The patterns of the phrases whose every word is in `lowered` (usually none)."""
        tokens = set(lowered.translate(_PUNCTUATION).split())
        phrases = self._phrases
        found = []
        for token in tokens & phrases.keys():
            for rest, pattern in phrases[token]:
                if all(t in tokens for t in rest):
                    found.append(pattern)
        return found

    def scan(self, text: str, by_asker: bool = True) -> list[Hit]:
        """The hits in one post; `by_asker=False` (a helper's post) skips the words of
        only_asker rules, which cannot fire on it."""
        hits: list[Hit] = []
        if self._words is not None and (by_asker or self.any_author):
            lowered = text.lower()
            patterns = self._candidates(lowered)
            if patterns:
                hits.extend(self._scan_words(text, lowered, patterns))
        if self.personal_rules:
            hits.extend(self._scan_personal(text))
        return hits

    def _guarded(self, index: int, text: str, start: int, end: int) -> bool:
        guard = self._before[index]
        if guard is not None:
            sentence_start = 0
            for found in _SENTENCE_END.finditer(text, max(0, start - 200), start):
                sentence_start = found.end()
            if guard.search(text[sentence_start:start].lower()):
                return True
        hedge = self._after[index]
        if hedge is None:
            return False
        after = text[end : end + AFTER_WINDOW].lower()
        hedged = hedge.search(after)
        if hedged is None:
            return False
        if not _SENTENCE_END.search(after, 0, hedged.start()):
            return True  # the same sentence: "... Ofcom, just asking"
        # the next sentence is only the hedge: "... the ombudsman? Just asking."
        rest = after[hedged.end() :].lstrip()
        return not rest or rest[0] in ".!?)\n"

    def _scan_words(self, text: str, lowered: str, patterns: list[re.Pattern[str]]) -> list[Hit]:
        found: dict[int, list[re.Match[str]]] = {}
        if len(lowered) != len(text):  # a rare letter whose lower case is longer: no shortcut
            lowered = text
            patterns = [re.compile(p.pattern, re.IGNORECASE) for p in patterns]
        matches = sorted(
            (m for pattern in patterns for m in pattern.finditer(lowered)),
            key=lambda m: m.start(),
        )
        end = len(text)
        for match in matches:
            start, stop = match.start(), match.end()
            if (start and _is_word(text[start - 1])) or (stop < end and _is_word(text[stop])):
                continue  # part of a longer word
            word = " ".join(match.group(0).lower().split())
            for index in self._owners.get(word, ()):
                if not self._guarded(index, text, match.start(), match.end()):
                    found.setdefault(index, []).append(match)
        hits = []
        for index, matches in found.items():
            rule = self.keyword_rules[index]
            distinct = list(dict.fromkeys(" ".join(m.group(0).lower().split()) for m in matches))
            if len(distinct) < rule.min_hits:
                continue
            first = matches[0]
            context, start, end = _context(text, first.start(), first.end())
            words = "words: " + ", ".join(distinct)
            hits.append(Hit(rule, text[first.start() : first.end()], context, start, end, words))
        return hits

    def _scan_personal(self, text: str) -> list[Hit]:
        found: list[tuple[str, str, re.Match[str]]] = []  # (detector, description, match)
        if "@" in text:
            found.extend(("email", "email address", m) for m in EMAIL.finditer(text))
        if sum(map(text.count, "0123456789")) < FEWEST_DIGITS:
            return self._personal_hits(text, found)
        for match in NUMBERS.finditer(text):
            before = text[match.start() - 1 : match.start()]
            if before and (before.isalnum() or before in "_+"):
                continue  # inside a word or a longer number
            if match.group("iban"):
                if iban_ok(match.group("iban")):
                    found.append(("iban", f"IBAN ({match.group('iban')[:2]}, mod-97 valid)", match))
            else:
                raw = match.group("number")
                digits = re.sub(r"\D", "", raw)
                card = card_kind(digits)
                if card:
                    found.append(("card", f"{card} card number (Luhn valid)", match))
                    continue
                phone = phone_kind(raw, digits)
                if phone:
                    found.append(("phone", f"{phone} number", match))
        return self._personal_hits(text, found)

    def _personal_hits(self, text: str, found: list[tuple[str, str, re.Match[str]]]) -> list[Hit]:
        hits = []
        for rule in self.personal_rules:
            mine = [f for f in found if f[0] in rule.detect]
            if not mine:
                continue
            detector, _, first = mine[0]
            shown = mask(detector, first.group(0))
            masked, at = _masked(text, found, first)
            context, start, end = _context(masked, at, at + len(shown))
            kinds = list(dict.fromkeys(d for _, d, _ in mine))
            hits.append(Hit(rule, shown, context, start, end, "; ".join(kinds)))
        return hits
