"""Survey facts with DuckDB: CSAT and NPS by ticket segment, comment keywords (Chinese with
jieba, English with a regex) and low-CSAT quotes.

Comments repeat heavily, so each distinct text is segmented once in Python; the (comment,
term) pairs then go back to DuckDB as a table, and every count is a join and a GROUP BY.
A term counts once per comment.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from improve.data.engine import records
from improve.data.kpis import DIMENSIONS, has_table, time_window
from improve.domain.facts import CommentTerms
from improve.domain.voice import (
    LANGUAGES,
    MIN_LIFT,
    Keyword,
    Language,
    Quote,
    SegmentTerms,
    SegmentVoice,
    VoiceFacts,
    lifted_keywords,
)

if TYPE_CHECKING:
    import jieba

TOP_KEYWORDS = 30  # per language, shown
CANDIDATES = 50  # per language, of all and of negative comments: counted per segment
KEYWORD_QUOTES = 5  # per negative keyword
SEGMENT_TERMS = 8  # per segment, its most over-represented terms get quotes ...
SEGMENT_QUOTES = 2  # ... this many each
NEGATIVE_CSAT = 3  # an answer with CSAT <= this is negative

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}$")
_LATIN = re.compile(r"[A-Za-z]")
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")

# Function words jieba keeps as words of two characters or more (single characters are
# dropped anyway: 的 了 很 太 又 都 我 是 在 有 就 也 要 好 ...).
_ZH_STOPWORDS = """
    我们 你们 他们 她们 它们 咱们 大家 自己 这个 那个 这些 那些 这样 那样 这么 那么 这里 那里
    什么 怎么 怎样 为什么 为何 如何 哪里 哪个 因为 所以 但是 可是 不过 而且 并且 然后 如果
    虽然 还是 或者 就是 只是 已经 一直 非常 特别 真的 真是 可以 能够 应该 需要 还有 没有 有人
    一个 一些 一下 一点 一次 有点 有些 好几个 好几次 几个 很多 许多 现在 时候 之后 以后 之前
    以前 然而 而是 不是 也是 都是 就要 还要 总是 比较 其实 确实 的话 起来 出来 东西 感觉 觉得
    好像 似乎 可能 一样
"""
ZH_STOPWORDS = frozenset(_ZH_STOPWORDS.split())
_EN_STOPWORDS = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each even ever every few for from further get got had
    hadn't has hasn't have haven't having he her here hers herself him himself his how i i'd
    i'll i'm i've if in into is isn't it it's its itself just let's me more most much my myself
    no nor not now of off on once only or other ought our ours ourselves out over own really
    same she should shouldn't so some still such than that that's the their theirs them
    themselves then there there's these they they're this those through to too under until up
    us very was wasn't we we're we've were weren't what when where which while who whom why
    will with won't would wouldn't you you're you've your yours yourself yourselves already
    again many one two yet
"""
EN_STOPWORDS = frozenset(_EN_STOPWORDS.split())


@contextmanager
def _quiet() -> Iterator[None]:
    """jieba 0.42 has invalid escapes in its regexes (a DeprecationWarning, a SyntaxWarning
    from Python 3.12) when its source is first compiled, and imports pkg_resources where
    setuptools is installed: neither is ours to fix, and neither must fail `-W error`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


@functools.cache
def _tokenizer() -> jieba.Tokenizer:
    """One jieba tokenizer per process, built on first use (about half a second).

    jieba would cache its prefix dictionary as a marshal file in the shared temporary folder
    and load it from there on the next start, whoever wrote it; loading saves little
    (~0.1 s), so the dictionary is built in a private folder that is deleted right away."""
    with _quiet():
        import jieba

        jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" on stderr
        tokenizer = jieba.Tokenizer()
        with tempfile.TemporaryDirectory(prefix="improve-jieba-") as tmp:
            tokenizer.tmp_dir = tmp
            tokenizer.initialize()
        tokenizer.tmp_dir = None
    return tokenizer


def comment_language(text: str) -> Language | None:
    """zh when the comment has CJK characters, en when it has Latin letters, else None."""
    if _CJK.search(text):
        return "zh"
    return "en" if _LATIN.search(text) else None


def _fold(word: str) -> str:
    """A cautious English plural fold: replies -> reply, departments -> department."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-1]
    return word


def _english(words: Iterable[str]) -> set[str]:
    return {
        _fold(word)
        for word in words
        if len(word) >= 2 and word not in EN_STOPWORDS and _fold(word) not in EN_STOPWORDS
    }


def comment_terms(text: str) -> tuple[Language | None, frozenset[str]]:
    """The comment's language and its distinct keywords: Chinese words of two or more
    characters from jieba, and lower-cased English words, stopwords, punctuation and
    numbers left out."""
    language = comment_language(text)
    if language is None:
        return None, frozenset()
    if language == "en":
        return language, frozenset(_english(_EN_WORD.findall(text.lower())))
    terms: set[str] = set()
    latin: list[str] = []
    for token in _tokenizer().lcut(text):
        word = token.strip().lower()
        if _HAN_WORD.match(word):
            if word not in ZH_STOPWORDS:
                terms.add(word)
        elif _EN_WORD.fullmatch(word):
            latin.append(word)  # a product or feature name inside Chinese text
    return language, frozenset(terms | _english(latin))


def _surveys_sql(con: duckdb.DuckDBPyConnection, start: date, end: date) -> str:
    """One row per survey answered in [start, end), with its ticket's dimension values
    (channel and region from the survey itself where the ticket is unknown)."""
    comment = "nullif(trim(s.comment, ' \t\n\r'), '') AS comment"
    if has_table(con, "tickets"):
        dims = ", ".join(
            f"CAST(coalesce(t.{d}, s.{d}) AS VARCHAR) AS {d}"
            if d in ("channel", "region")
            else f"CAST(t.{d} AS VARCHAR) AS {d}"
            for d in DIMENSIONS
        )
        source = "surveys s LEFT JOIN tickets t ON t.ticket_id = s.ticket_id"
    else:
        dims = ", ".join(
            f"CAST(s.{d} AS VARCHAR) AS {d}"
            if d in ("channel", "region")
            else f"CAST(NULL AS VARCHAR) AS {d}"
            for d in DIMENSIONS
        )
        source = "surveys s"
    return (
        f"SELECT s.survey_id, CAST(s.ticket_id AS VARCHAR) AS ticket_id, s.csat, s.nps, "
        f"{comment}, {dims} FROM {source} WHERE {time_window('s.answered_at', start, end)}"
    )


_FIGURES = (
    "count(*) AS surveys, count(csat) AS rated, count(*) FILTER (csat >= 4) AS top2, "
    "sum(csat) AS csat_sum, count(nps) AS nps_answers, count(*) FILTER (nps >= 9) AS promoters, "
    "count(*) FILTER (nps <= 6) AS detractors, count(comment) AS comments"
)


def _figures(row: Mapping[str, Any]) -> dict[str, Any]:
    rated, answers = int(row["rated"]), int(row["nps_answers"])
    return {
        "surveys": int(row["surveys"]),
        "rated": rated,
        "csat_rate": int(row["top2"]) / rated if rated else None,
        "csat_mean": int(row["csat_sum"]) / rated if rated else None,
        "nps_answers": answers,
        "nps": 100 * (int(row["promoters"]) - int(row["detractors"])) / answers
        if answers
        else None,
        "comments": int(row["comments"]),
    }


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, tables: Mapping[str, pa.Table]) -> Iterator[None]:
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


def _specificity(language: Language) -> Callable[[str], tuple[Any, ...]]:
    """Sort key putting first the word that best names a group always used together: for
    Chinese the rarest in jieba's dictionary (words it only guessed last), for English the
    longest."""
    if language == "en":
        return lambda term: (-len(term), term)
    freq = _tokenizer().FREQ
    return lambda term: (not freq.get(term), freq.get(term) or 0, -len(term), term)


def _merge_cooccurring(
    terms_of: Mapping[str, frozenset[str]], language_of: Mapping[str, Language]
) -> tuple[dict[str, frozenset[str]], dict[tuple[str, str], tuple[str, ...]]]:
    """Terms found in exactly the same comment texts count the same everywhere: keep one of
    each such group (the others go with it, as `also`), so that a comment repeated many
    times does not fill the keyword lists with its every word."""
    texts_of: dict[tuple[Language, str], set[str]] = defaultdict(set)
    for text, found in terms_of.items():
        for term in found:
            texts_of[language_of[text], term].add(text)
    groups: dict[tuple[Language, frozenset[str]], list[str]] = defaultdict(list)
    for (language, term), texts in texts_of.items():
        groups[language, frozenset(texts)].append(term)
    head: dict[tuple[str, str], str] = {}
    also: dict[tuple[str, str], tuple[str, ...]] = {}
    for (language, _), members in groups.items():
        members.sort(key=_specificity(language))
        also[language, members[0]] = tuple(members[1:])
        for term in members:
            head[language, term] = members[0]
    merged = {
        text: frozenset(head[language_of[text], term] for term in found)
        for text, found in terms_of.items()
    }
    return merged, also


def _top(
    counts: Mapping[tuple[str, str], int],
    comments: Mapping[str, int],
    n: int,
    also: Mapping[tuple[str, str], tuple[str, ...]],
) -> list[Keyword]:
    """The `n` most used terms per language (count desc, term asc)."""
    out = []
    for language in LANGUAGES:
        rows = sorted(
            ((term, c) for (lang, term), c in counts.items() if lang == language and c > 0),
            key=lambda tc: (-tc[1], tc[0]),
        )[:n]
        total = comments.get(language, 0)
        out += [
            Keyword(
                term=t,
                language=language,
                count=c,
                share=c / total,
                also=also.get((language, t), ()),
            )
            for t, c in rows
        ]
    return out


def comment_term_counts(
    con: duckdb.DuckDBPyConnection, windows: Sequence[tuple[date, date]]
) -> tuple[CommentTerms, ...] | None:
    """For each window [start, end), how many of its comments use each term, per language;
    None without a `surveys` table. Each distinct text is segmented once, and terms found in
    exactly the same texts (of all the windows) count as one, the others listed as `also`."""
    if not has_table(con, "surveys"):
        return None
    per_window = [
        con.execute(
            f"WITH v AS ({_surveys_sql(con, start, end)}) SELECT comment, count(*) FROM v "
            "WHERE comment IS NOT NULL GROUP BY comment"
        ).fetchall()
        for start, end in windows
    ]
    language_of: dict[str, Language] = {}
    terms_of: dict[str, frozenset[str]] = {}
    for text in {text for rows in per_window for text, _ in rows}:
        language, found = comment_terms(text)
        if language is not None:
            language_of[text], terms_of[text] = language, found
    terms_of, also = _merge_cooccurring(terms_of, language_of)
    out = []
    for rows in per_window:
        comments: dict[str, int] = defaultdict(int)
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for text, n in rows:
            if text not in language_of:
                continue
            comments[language_of[text]] += n
            for term in terms_of[text]:
                counts[language_of[text]][term] += n
        out.append(
            CommentTerms(
                comments=dict(comments),
                counts={language: dict(c) for language, c in counts.items()},
                also={f"{lang}:{term}": more for (lang, term), more in also.items() if more},
            )
        )
    return tuple(out)


def voice_facts(con: duckdb.DuckDBPyConnection, *, start: date, end: date) -> VoiceFacts | None:
    """Survey answers in [start, end): CSAT and NPS overall and per ticket segment, comment
    keywords, per-segment counts of the leading ones and low-CSAT quotes; None without a
    `surveys` table."""
    if not has_table(con, "surveys"):
        return None
    base = _surveys_sql(con, start, end)
    cols = ", ".join(DIMENSIONS)
    v = f"v AS ({base})"
    u = (
        f"u AS (SELECT * FROM (UNPIVOT (SELECT survey_id, csat, nps, comment, {cols} FROM v) "
        f"ON {cols} INTO NAME dimension VALUE value))"
    )
    overall = _figures(records(con, f"WITH {v} SELECT {_FIGURES} FROM v")[0])
    segments = [
        SegmentVoice(dimension=r["dimension"], value=r["value"], **_figures(r))
        for r in records(
            con,
            f"WITH {v}, {u} SELECT dimension, value, {_FIGURES} FROM u GROUP BY ALL "
            "ORDER BY dimension, surveys DESC, value",
        )
    ]
    segments.sort(key=lambda s: DIMENSIONS.index(s.dimension))  # stable: keeps surveys desc

    # Segment each distinct comment once.
    texts = [r[0] for r in con.execute(f"WITH {v} SELECT DISTINCT comment FROM v").fetchall()]
    language_of: dict[str, Language] = {}
    terms_of: dict[str, frozenset[str]] = {}
    for text in texts:
        if text is None:
            continue
        language, found = comment_terms(text)
        if language is not None:
            language_of[text] = language
            terms_of[text] = found
    terms_of, also = _merge_cooccurring(terms_of, language_of)
    pairs = [(t, language_of[t], term) for t, found in terms_of.items() for term in found]
    tables = {
        "_voice_langs": pa.table(
            {
                "comment": pa.array(list(language_of), pa.string()),
                "language": pa.array(list(language_of.values()), pa.string()),
            }
        ),
        "_voice_terms": pa.table(
            {
                "comment": pa.array([p[0] for p in pairs], pa.string()),
                "language": pa.array([p[1] for p in pairs], pa.string()),
                "term": pa.array([p[2] for p in pairs], pa.string()),
            }
        ),
    }
    neg = f"csat <= {NEGATIVE_CSAT}"
    with _registered(con, tables):
        by_language = {
            r["language"]: r
            for r in records(
                con,
                f"WITH {v} SELECT language, count(*) AS n, count(*) FILTER ({neg}) AS neg "
                "FROM v JOIN _voice_langs USING (comment) GROUP BY ALL",
            )
        }
        comments = {lang: int(r["n"]) for lang, r in by_language.items()}
        negative = {lang: int(r["neg"]) for lang, r in by_language.items()}
        term_rows = records(
            con,
            f"WITH {v} SELECT language, term, count(*) AS n, count(*) FILTER ({neg}) AS neg "
            "FROM v JOIN _voice_terms USING (comment) GROUP BY ALL",
        )
        all_counts = {(r["language"], r["term"]): int(r["n"]) for r in term_rows}
        neg_counts = {(r["language"], r["term"]): int(r["neg"]) for r in term_rows}
        keywords = _top(all_counts, comments, TOP_KEYWORDS, also)
        negative_keywords = _top(neg_counts, negative, TOP_KEYWORDS, also)
        candidates = {
            (k.language, k.term): None
            for k in [
                *_top(all_counts, comments, CANDIDATES, also),
                *_top(neg_counts, negative, CANDIDATES, also),
            ]
        }
        terms = _top({key: all_counts[key] for key in candidates}, comments, 2 * CANDIDATES, also)
        segment_terms = _segment_terms(con, v, u, candidates)
        quotes = _quotes(
            con,
            v,
            u,
            keyword_terms=[(k.language, k.term) for k in negative_keywords],
            segment_terms=segment_terms,
            terms=terms,
            comments=comments,
            terms_of=terms_of,
            language_of=language_of,
        )
    return VoiceFacts(
        start=start,
        end=end,
        **overall,
        comments_by_language=comments,
        negative_comments=negative,
        segments=tuple(segments),
        keywords=tuple(keywords),
        negative_keywords=tuple(negative_keywords),
        terms=tuple(terms),
        segment_terms=tuple(segment_terms),
        quotes=tuple(quotes),
    )


def _pairs_table(rows: Sequence[tuple[str, ...]], names: Sequence[str]) -> pa.Table:
    return pa.table(
        {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(names)}
    )


def _segment_terms(
    con: duckdb.DuckDBPyConnection,
    v: str,
    u: str,
    candidates: Iterable[tuple[str, str]],
) -> list[SegmentTerms]:
    """Per segment: its comments per language and the candidate terms they contain."""
    lang_rows = records(
        con,
        f"WITH {v}, {u} SELECT dimension, value, language, count(*) AS n "
        "FROM u JOIN _voice_langs USING (comment) GROUP BY ALL",
    )
    comments: dict[tuple[str, str], dict[Language, int]] = defaultdict(dict)
    for r in lang_rows:
        comments[r["dimension"], r["value"]][r["language"]] = int(r["n"])
    with _registered(
        con, {"_voice_candidates": _pairs_table(list(candidates), ["language", "term"])}
    ):
        rows = records(
            con,
            f"WITH {v}, {u} SELECT dimension, value, language, term, count(*) AS n "
            "FROM u JOIN _voice_terms USING (comment) "
            "JOIN _voice_candidates USING (language, term) GROUP BY ALL "
            "ORDER BY dimension, value, n DESC, term, language",
        )
    counts: dict[tuple[str, str], dict[Language, dict[str, int]]] = defaultdict(dict)
    for r in rows:
        counts[r["dimension"], r["value"]].setdefault(r["language"], {})[r["term"]] = int(r["n"])
    return [
        SegmentTerms(dimension=d, value=val, comments=comments[d, val], counts=found)
        for (d, val), found in sorted(
            counts.items(), key=lambda kv: (DIMENSIONS.index(kv[0][0]), kv[0][1])
        )
    ]


def _quotes(
    con: duckdb.DuckDBPyConnection,
    v: str,
    u: str,
    *,
    keyword_terms: Sequence[tuple[str, str]],
    segment_terms: Sequence[SegmentTerms],
    terms: Sequence[Keyword],
    comments: Mapping[Language, int],
    terms_of: Mapping[str, frozenset[str]],
    language_of: Mapping[str, Language],
) -> list[Quote]:
    """Low-CSAT comments, one survey per distinct text, lowest CSAT then survey_id first:
    up to KEYWORD_QUOTES per negative keyword, and SEGMENT_QUOTES for each of a segment's
    SEGMENT_TERMS most over-represented terms (so that a problem on that segment, or on
    several values of its dimension, finds its quotes)."""
    wanted = [
        (s.dimension, s.value, k.language, k.term)
        for s in segment_terms
        for k in lifted_keywords(
            s.counts,
            s.comments,
            terms,
            comments,
            min_count=2,
            min_lift=MIN_LIFT,
            top=SEGMENT_TERMS,
        )
    ]
    neg = f"csat <= {NEGATIVE_CSAT}"
    rank = "QUALIFY row_number() OVER (PARTITION BY {key}, comment ORDER BY csat, survey_id) = 1"
    tables = {
        "_voice_keywords": _pairs_table(keyword_terms, ["language", "term"]),
        "_voice_wanted": _pairs_table(wanted, ["dimension", "value", "language", "term"]),
    }
    with _registered(con, tables):
        ids = con.execute(
            f"WITH {v}, {u}, "
            f"a AS (SELECT language, term, survey_id, csat, comment FROM v "
            f"JOIN _voice_terms USING (comment) JOIN _voice_keywords USING (language, term) "
            f"WHERE {neg} {rank.format(key='language, term')}), "
            f"b AS (SELECT dimension, value, language, term, survey_id, csat, comment FROM u "
            f"JOIN _voice_terms USING (comment) "
            f"JOIN _voice_wanted USING (dimension, value, language, term) "
            f"WHERE {neg} {rank.format(key='dimension, value, language, term')}) "
            f"SELECT survey_id FROM a QUALIFY row_number() OVER "
            f"(PARTITION BY language, term ORDER BY csat, survey_id) <= {KEYWORD_QUOTES} "
            f"UNION SELECT survey_id FROM b QUALIFY row_number() OVER "
            f"(PARTITION BY dimension, value, language, term ORDER BY csat, survey_id) "
            f"<= {SEGMENT_QUOTES}"
        ).fetchall()
        chosen = pa.table({"survey_id": pa.array(sorted(r[0] for r in ids), pa.string())})
        with _registered(con, {"_voice_chosen": chosen}):
            rows = records(
                con,
                f"WITH {v} SELECT v.* FROM v JOIN _voice_chosen USING (survey_id) "
                "ORDER BY survey_id",
            )
    counted = {(k.language, k.term): i for i, k in enumerate(terms)}
    out = []
    for r in rows:
        text = r["comment"]
        language = language_of[text]
        found = [t for t in terms_of[text] if (language, t) in counted]
        out.append(
            Quote(
                survey_id=r["survey_id"],
                ticket_id=r["ticket_id"],
                text=text,
                csat=r["csat"],
                segments={d: r[d] for d in DIMENSIONS if r[d] is not None},
                terms=tuple(sorted(found, key=lambda t: counted[language, t])),
            )
        )
    return out
