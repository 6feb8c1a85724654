"""Segment profiles (size, churn with its interval, targets, distinctive features, SHAP drivers) and
readable names built from those facts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from insight.runs import layout
from insight.runs.manifest import SegmentProfile
from insight.segments.contrast import contrast
from insight.models.metrics import wilson_interval
from insight.segments.clustering import UNASSIGNED, UNASSIGNED_NAME

log = logging.getLogger(__name__)

PROFILE_SAMPLE = 200_000
TOP_FEATURES = 6


def segment_profiles(
    frame: pd.DataFrame,
    labels: np.ndarray,
    *,
    features: dict[str, str],
    target: str,
    aux_targets: tuple[str, ...],
    revenue_column: str | None,
    shap_values: np.ndarray,
    feature_names: list[str],
    seed: int = 0,
) -> list[SegmentProfile]:
    """One profile per segment (Unassigned last), each with a unique readable name."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    probe = np.arange(len(frame))
    if len(frame) > PROFILE_SAMPLE:
        probe = np.sort(rng.choice(len(frame), size=PROFILE_SAMPLE, replace=False))
    sample = frame.iloc[probe].reset_index(drop=True)
    sample_labels = labels[probe]
    overall_churn = float(frame[target].mean())
    outcomes_known = bool(frame[target].notna().any())  # not for the latest snapshot of a run trained with --time
    overall_risk = float(frame[layout.CHURN_PROBABILITY].mean())
    profiles = []
    naming_facts: list[list[dict[str, Any]]] = []
    naming_overlaps: list[np.ndarray] = []
    as_text: dict[str, pd.Series] = {}
    for seg in [*sorted(set(labels) - {UNASSIGNED}), *([UNASSIGNED] if (labels == UNASSIGNED).any() else [])]:
        inside = labels == seg
        y = frame.loc[inside, target].dropna()
        low, high = wilson_interval(int(y.sum()), len(y))
        prob = frame.loc[inside, layout.CHURN_PROBABILITY]
        profile: dict[str, Any] = {
            "id": int(seg),
            "size": int(inside.sum()),
            "share": float(inside.mean()),
            "churn_rate": float(y.mean()) if len(y) else None,
            "churn_rate_ci": [low, high],
            "mean_churn_probability": float(prob.mean()),
            "expected_churners": float(prob.sum()),
            "targets": {a: _mean(frame.loc[inside, a]) for a in aux_targets},
        }
        if revenue_column and "revenue_at_risk" in frame.columns:
            profile["revenue_at_risk"] = float(frame.loc[inside, "revenue_at_risk"].sum())
        diff = contrast(sample, sample_labels == seg, features)
        profile["distinctive"] = [
            {"feature": r.feature, "description": r.description, "effect": round(float(r.effect), 4),
             "p_adjusted": float(r.p_adjusted), "value": r.value if isinstance(r.value, str) else None,
             "role": r.role}
            for r in diff.head(TOP_FEATURES).itertuples() if r.significant
        ]
        mean_shap = shap_values[inside].mean(axis=0)
        top = np.argsort(-np.abs(mean_shap))[:5]
        profile["shap_drivers"] = [{"feature": feature_names[i], "mean_shap": round(float(mean_shap[i]), 5)}
                                   for i in top]
        profile["churn_level"] = (churn_level(profile["churn_rate"], overall_churn) if outcomes_known else
                                  churn_level(profile["mean_churn_probability"], overall_risk, noun="risk"))
        profiles.append(profile)
        # names may draw on more facts than the profile keeps; a fact's customers tell when another implies it
        facts = [{"feature": r.feature, "role": r.role, "effect": float(r.effect),
                  "value": r.value if isinstance(r.value, str) else None}
                 for r in diff.head(NAME_CANDIDATES).itertuples() if r.significant]
        naming_facts.append(facts)
        naming_overlaps.append(shared_members([_members(sample, f, as_text) for f in facts]))
    names = unique_names(profiles, overlaps=naming_overlaps, facts=naming_facts)
    for p, name in zip(profiles, names, strict=True):
        p["name"] = name
    return [SegmentProfile.from_dict(p) for p in profiles]


def churn_level(rate: float | None, overall: float, *, noun: str = "churn") -> str:
    """'high churn', 'low churn', 'average churn' (or 'unknown churn') of a segment's churn rate against the
    overall one. Customers whose outcomes are not known yet (the latest snapshot of a run trained with --time)
    are levelled by the model's mean churn probability instead, with noun 'risk': 'high risk'..."""
    if rate is None or overall <= 0:
        return f"unknown {noun}"
    ratio = rate / overall
    if ratio >= 1.4:
        return f"high {noun}"
    if ratio <= 0.6:
        return f"low {noun}"
    return f"average {noun}"


# --- names -------------------------------------------------------------------------------------------------
# A name is at most two facts about who the members are (categories and flags first, then numbers and dates)
# and the churn level: 'Fiber optic internet service, monthly contract · high churn'. Facts come from column
# and value labels made readable; a fact is left out when another fact already in the name says it (the same
# text, a shared word, or nearly the same customers).

MAX_NAME_LENGTH = 60
NAME_CANDIDATES = 12  # significant facts considered for a name (profiles keep TOP_FEATURES of them)
# a Jaccard index, or a share of a used fact's customers having the new fact, that makes the new one redundant
SAME_MEMBERS = 0.9
# words that carry no meaning of their own in a name; a name repeats no other word
STOP_WORDS = frozenset({"and", "with", "of", "the", "a", "no", "on", "in", "low", "high", "average", "churn",
                        "service"})
_NO_VALUES = frozenset({"no", "none", "false", "0", "n", "nil", "never", "zero"})
_YES_VALUES = frozenset({"yes", "true", "1", "y"})
# category values that name no group of customers
_VAGUE_VALUES = frozenset({"other", "others", "unknown", "n/a", "na", "nan", "null", "<na>", "missing", "-",
                           "?", "", "not applicable", "not available", "not specified", "unspecified",
                           "undefined", "misc", "miscellaneous", "various", "mixed", "not set", "unset", "blank",
                           "empty"})
_NEGATIONS = frozenset({"no", "not", "non", "without", "never"})
# column words left out of names: period suffixes (90d, 12m), units and filler
_FILLER = re.compile(r"\d+[hdwmqy]|pct|percent|cycle|method|type|kind|flag|gb|mb|kb|tb")
_LEADING_FILLER = frozenset({"avg", "mean", "median", "num", "nb", "n", "number", "count", "of"})
_ACRONYMS = frozenset({"os", "tv", "id", "ip", "sms", "vip", "api", "url", "nps", "csat", "kpi", "crm", "sla",
                       "ui", "ux", "pc", "gps", "dsl", "isp", "b2b", "b2c", "usd", "eur", "gbp", "sku",
                       "roi"})
# a column's last word that only says the column holds a kind: 'company_size' = 'solo' reads 'Solo company'
_ATTRIBUTE_NOUNS = frozenset({"size", "type", "level", "tier", "band", "group", "category", "status", "class",
                              "segment", "bucket"})
_BE = frozenset({"is", "was", "are", "were", "be", "been", "being"})
_HAVE = frozenset({"has", "have", "had", "having", "with", "uses", "use", "owns", "own"})
_VERBS = frozenset({"uses", "use", "owns", "own"})
_PREPOSITIONS = frozenset({"in", "on", "at", "under", "over", "within", "above", "below", "into", "past",
                           "off", "behind", "ahead", "out"})
# a flag whose column names a kind of person reads 'Not app user', not 'No app user'
_PERSONS = frozenset({"user", "member", "customer", "client", "subscriber", "citizen", "senior", "owner",
                      "holder", "buyer", "payer", "adopter", "employee", "student", "resident", "veteran",
                      "minor", "adult", "parent", "admin", "churner", "referrer", "reseller", "renter",
                      "smoker", "driver", "donor", "vip", "guest", "visitor", "tester"})
_IRREGULAR_PARTICIPLES = frozenset({"paid", "done", "sent", "seen", "given", "taken", "known", "sold", "kept",
                                    "held", "built", "made", "won", "lost", "shown", "met", "overdue"})
_NOT_PARTICIPLES = frozenset({"speed", "seed", "need", "feed", "breed", "bleed", "greed", "weed", "bed",
                              "red", "shed", "fed", "bred", "led", "wed"})
_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly", "year": "yearly",
            "hour": "hourly"}


def describe_trait(item: dict[str, Any]) -> str | None:
    """One distinctive fact as a short phrase ('Enterprise plan', 'High support tickets', 'No auto renew'), or
    None for a fact that names nobody (a category the segment lacks, a value such as 'other' or 'unknown')."""
    name, role, effect = item["feature"], item["role"], item["effect"]
    words = name_words(name)
    if role == "boolean":
        return _flag_phrase(name, effect > 0)
    if role == "categorical":
        if effect <= 0 or item.get("value") is None:
            return None
        return _category_phrase(name, str(item["value"]))
    if role == "date":
        return f"{'Recent' if effect > 0 else 'Early'} {words}"
    since = _time_since(words)
    if since:  # 'last_login_days_ago', 'days_since_last_order': a high number is a long time
        return f"Long since {since}" if effect > 0 else f"Recent {since}"
    return f"{'High' if effect > 0 else 'Low'} {words}"


def _time_since(words: str) -> str | None:
    """'last login days ago' -> 'last login', 'days since last order' -> 'last order'; else None."""
    units = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
    match = re.fullmatch(rf"(.+?) (?:{units} )?ago", words) or re.fullmatch(rf"{units} since (.+)", words)
    return match.group(1) if match else None


def name_words(column: str) -> str:
    """A column name shortened for segment names: 'support_tickets_90d' -> 'support tickets',
    'discount_pct' -> 'discount', 'billing_cycle' -> 'billing', 'PaymentMethod' -> 'payment',
    'StreamingTV' -> 'streaming TV'."""
    words = _column_words(column)
    kept = [w for w in words if not _FILLER.fullmatch(w.lower())]
    while len(kept) > 1 and kept[0].lower() in _LEADING_FILLER:
        kept = kept[1:]
    return " ".join(kept or words) or str(column)


def _column_words(column: str) -> list[str]:
    """Words of a column name (snake_case, kebab-case, CamelCase, camelCase, UPPER_CASE), in lower case but
    for acronyms: 'StreamingTV' -> ['streaming', 'TV'], 'customerID' -> ['customer', 'ID']."""
    text = str(column).strip()
    all_caps = text.upper() == text
    words = []
    for part in re.split(r"[\W_]+", text):
        for word in _split_camel(part):
            if all_caps or not (len(word) > 1 and word.isupper()):
                word = word.lower()
            words.append(word.upper() if word.lower() in _ACRONYMS else word)
    return [w for w in words if w]


def _split_camel(part: str) -> list[str]:
    out, current = [], ""
    for i, ch in enumerate(part):
        if current and ch.isupper():
            prev, nxt = current[-1], part[i + 1:i + 2]
            if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                out.append(current)
                current = ""
        current += ch
    return [*out, current] if current else out


def _tokens(text: str) -> list[str]:
    """Words as the name check sees them: lower case, split at anything but letters and digits."""
    return re.findall(r"[^\W_]+", text.lower())


def _content(text: str) -> list[str]:
    return [w for w in _tokens(text) if w not in STOP_WORDS]


def _capitalise(text: str) -> str:
    first = text.split(" ", 1)[0]
    if not text or any(c.isupper() for c in first[1:]):  # 'macOS', 'iPhone', 'DSL' stay as they are
        return text
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return text  # an acronym or a brand: 'DSL internet service', 'iPhone'
    return text[:1].lower() + text[1:]


def _value_text(value: str) -> str:
    """A category value made readable: 'film_animation' -> 'film animation', 'BankTransfer' -> 'Bank
    transfer', 'FIBER_OPTIC' -> 'fiber optic', 'Month-to-month' -> 'Monthly', 'Card (automatic)' -> 'Card'."""
    text = re.sub(r"\s+", " ", str(value).replace("_", " ")).strip()
    plain = re.sub(r"\s*\([^)]*\)", "", text).strip()  # 'Bank transfer (automatic)' -> 'Bank transfer'
    text = plain or text
    if re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)+", text):
        text = " ".join(_split_camel(text)).capitalize()
    if text.isupper() and (" " in text or len(text) > 4):
        text = text.lower()
    # 'month-to-month' repeats a word; say 'monthly'
    return re.sub(r"\b([^\W\d_]+)[- ]to[- ]\1\b", _period, text, flags=re.IGNORECASE)


def _period(match: re.Match[str]) -> str:
    word = match.group(1)
    adjective = _PERIODS.get(word.lower().rstrip("s"))
    if adjective is None:
        return match.group(0)
    return adjective.capitalize() if word[:1].isupper() else adjective


def _category_phrase(column: str, value: str) -> str | None:
    text = _value_text(value)
    key = text.lower()
    if key in _VAGUE_VALUES:
        return None
    if key in _NO_VALUES:
        return _flag_phrase(column, False)
    if key in _YES_VALUES:
        return _flag_phrase(column, True)
    words = name_words(column)
    value_words, column_words = _tokens(text), set(_content(words))
    if len(value_words) > 1 and value_words[0] in _NEGATIONS:
        return _capitalise(text)  # 'No internet service' says it all, whatever the column
    if column_words & set(value_words):
        return _capitalise(text)  # 'Pro plan' for plan, 'Annual contract' for contract type
    if re.search(r"\d", text) or len(text) <= 2:
        return f"{_capitalise(words)} {text}"  # 'Company size 2-10', 'Country US'
    kept = words.split()
    if len(kept) > 1 and kept[-1].lower() in _ATTRIBUTE_NOUNS:  # 'Solo company', not 'Solo company size'
        kept = kept[:-1]
    return f"{_capitalise(text)} {' '.join(kept)}"


def _flag_phrase(column: str, present: bool) -> str:
    """'auto_renew' -> 'Auto renew' / 'No auto renew', 'is_app_user' -> 'App user' / 'Not app user',
    'in_arrears' -> 'In arrears' / 'Not in arrears', 'trial_converted' -> 'Trial converted' / 'Trial not
    converted'."""
    words = name_words(column).split()
    lowered = [w.lower() for w in words]
    negation = "No"
    if len(words) > 1 and lowered[0] in _BE:
        words, lowered, negation = words[1:], lowered[1:], "Not"
    elif len(words) > 1 and lowered[0] in _HAVE:
        if present and lowered[0] in _VERBS:
            return _capitalise(" ".join(words))  # 'Uses version control' / 'No version control'
        words, lowered = words[1:], lowered[1:]
    elif lowered[0] in _PREPOSITIONS:
        negation = "Not"
    phrase = " ".join(words)
    if present:
        return _capitalise(phrase)
    first, last = lowered[0], lowered[-1]
    if negation == "No" and _participle(first):
        negation = "Not"  # 'Not churned before', 'Not opted out'
    elif negation == "No" and _participle(last):
        return _capitalise(" ".join([*words[:-1], "not", words[-1]]))  # 'Trial not converted'
    elif last in _PERSONS or last.rstrip("s") in _PERSONS or (
            len(words) == 1 and re.search(r"(ive|able|ible|ful|ous|less|ic|al|ent|ant)$", last)):
        negation = "Not"
    return f"{negation} {_lower_first(phrase)}"


def _participle(word: str) -> bool:
    if word in _IRREGULAR_PARTICIPLES:
        return True
    return word.endswith("ed") and len(word) > 3 and word not in _NOT_PARTICIPLES


class _Trait:
    """A fact as it can appear in a name, with what it's compared by."""

    def __init__(self, text: str, index: int, overlaps: np.ndarray | None) -> None:
        self.text = text
        self.inner = _lower_first(text)
        self.key = " ".join(_tokens(text))
        self.words = set(_content(text))
        self.index, self.overlaps = index, overlaps

    def adds_to(self, used: _Trait) -> bool:
        """Whether this fact says something `used` doesn't."""
        if self.key == used.key or f" {self.key} " in f" {used.key} " or f" {used.key} " in f" {self.key} ":
            return False
        if self.words & used.words:
            return False
        if self.overlaps is not None and self.overlaps is used.overlaps:
            both = self.overlaps[self.index, used.index]
            mine, theirs = self.overlaps[self.index, self.index], self.overlaps[used.index, used.index]
            if both >= 0 and mine > 0 and theirs > 0 and (both / (mine + theirs - both) > SAME_MEMBERS
                                                          or both / theirs > SAME_MEMBERS):
                return False  # nearly the same customers, or implied by the used fact
        return True


def unique_names(profiles: list[dict[str, Any]], *, facts: list[list[dict[str, Any]]] | None = None,
                 overlaps: list[np.ndarray] | None = None) -> list[str]:
    """'Enterprise plan, invoice payment · low churn': the most distinctive facts that name members
    (categories and flags first, each adding something to the ones before) and the churn level; unique
    across segments, at most MAX_NAME_LENGTH characters.

    `facts` (one list per profile, default each profile's `distinctive`) are the facts to name from;
    `overlaps` (one `shared_members` matrix per profile, over its facts) tells which facts hold for nearly the
    same customers as a fact already in the name, or for nearly all of that fact's customers: those are left
    out, as are facts that say what one in the name says (the same text, a shared word)."""
    names: list[str] = []
    for i, p in enumerate(profiles):
        if p["id"] == UNASSIGNED:
            names.append(UNASSIGNED_NAME)
            continue
        items = facts[i] if facts is not None else p["distinctive"]
        names.append(_name(p, _traits(items, overlaps[i] if overlaps is not None else None), names))
    return names


def _traits(items: list[dict[str, Any]], overlaps: np.ndarray | None) -> list[_Trait]:
    described = []
    for order, item in enumerate(items):
        text = describe_trait(item)
        if text:
            # categories and flags describe who the members are; lead with them, keep the effect-size order;
            # a phrase that repeats a word of its own comes last
            described.append((_repeats(text), item["role"] not in ("categorical", "boolean"), order,
                              _Trait(text, order, overlaps)))
    described.sort(key=lambda d: d[:3])
    return [t for *_, t in described]


def _name(profile: dict[str, Any], traits: list[_Trait], taken: list[str]) -> str:
    suffix = f" · {profile['churn_level']}"
    if not traits:
        return f"Segment {profile['id']}{suffix}"
    room = MAX_NAME_LENGTH - len(suffix)
    tag = f" ({profile['id']})"
    # unique by the facts alone: two segments that only the churn level tells apart need another fact
    taken_bodies = {name.split(" · ")[0] for name in taken}
    bodies = [*_bodies(traits, room), *(body + tag for body in _bodies(traits, room - len(tag)))]
    for body in bodies:
        if body not in taken_bodies and not _repeats(body + suffix):
            return body + suffix
    return f"Segment {profile['id']}{suffix}"


def _repeats(name: str) -> bool:
    """Whether `name` says a word twice (stop words aside)."""
    words = _content(name)
    return len(set(words)) < len(words)


def _bodies(traits: list[_Trait], room: int) -> Iterator[str]:
    """Names' first parts, best first: the first fact and the next that adds to it; the same with a third;
    the first with each other fact that adds to it; the first alone."""
    lead = traits[0]
    head = _fit(lead.text, room)
    seconds = [t for t in traits[1:] if t.adds_to(lead)]
    chain = [lead]
    for t in seconds:
        if all(t.adds_to(u) for u in chain):
            chain.append(t)
    seen = set()

    def join(parts: list[_Trait]) -> str | None:
        text = ", ".join([head, *[t.inner for t in parts[1:]]])
        return text if len(text) <= room else None

    def fits(parts: list[_Trait]) -> list[_Trait]:
        kept = [parts[0]]
        for t in parts[1:]:
            if join([*kept, t]) is not None:
                kept.append(t)
        return kept

    two = fits(chain)[:2]
    options = [two, fits(chain)[:3], *[[lead, t] for t in seconds], [lead]]
    for parts in options:
        body = join(parts)
        if body is not None and body not in seen:
            seen.add(body)
            yield body


def _fit(text: str, room: int) -> str:
    """`text` cut at a word to at most `room` characters (a parenthesis goes first)."""
    if len(text) <= room:
        return text
    text = re.sub(r"\s*\([^)]*\)", "", text).strip()
    words = text.split()
    while len(words) > 1 and len(" ".join(words)) > room:
        words.pop()
    return " ".join(words)[:room].rstrip()


def shared_members(members: list[np.ndarray | None]) -> np.ndarray:
    """How many customers each pair of facts holds for together (the diagonal: each fact alone); -1 where a
    fact has no members to count (numbers, dates)."""
    out = np.full((len(members), len(members)), -1, dtype=np.int64)
    for i, a in enumerate(members):
        for j in range(i, len(members)):
            b = members[j]
            if a is not None and b is not None:
                out[i, j] = out[j, i] = int(np.count_nonzero(a & b))
    return out


def _members(sample: pd.DataFrame, item: dict[str, Any], as_text: dict[str, pd.Series]) -> np.ndarray | None:
    """The customers of `sample` a category or flag fact holds for (None for numbers and dates)."""
    column = item["feature"]
    if item["role"] == "boolean":
        values = pd.to_numeric(sample[column], errors="coerce")
        return (values == (1.0 if item["effect"] > 0 else 0.0)).to_numpy(dtype=bool)
    if item["role"] == "categorical" and item.get("value") is not None and item["effect"] > 0:
        if column not in as_text:
            as_text[column] = sample[column].astype(str).where(sample[column].notna())
        return (as_text[column] == item["value"]).to_numpy(dtype=bool)
    return None


def _mean(series: pd.Series) -> float | None:
    m = pd.to_numeric(series, errors="coerce").mean()
    return None if pd.isna(m) else float(m)
