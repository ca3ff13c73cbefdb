"""Ranked full-text search over articles, with highlighted snippets.

SQLite answers from the FTS5 table ``article_fts`` (bm25 with column weights,
``snippet()``); PostgreSQL from the GIN index ``ix_article_search`` (``ts_rank``,
``ts_headline``). Both are made by the migration; the queries here use exactly
the indexed expression so the planner can use it.

What a person types is never handed to either query language. It is cut into
words, each word reduced to the characters a word can hold, and rebuilt as
quoted terms with a prefix marker, so quotes, ``NEAR``, ``AND``/``OR``, ``*``,
``^`` and brackets are only ever text to look for.

Highlights come back wrapped in markers made for each search (private-use
characters around a random nonce, so no article can contain them); the snippet
is escaped first and only then are the markers turned into ``<mark>``, so
nothing from an article or a query can open a tag.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select, text
from sqlalchemy.orm import defer, joinedload

from portal.extensions import db
from portal.kb.models import Article

MAX_QUERY = 200
MAX_TERMS = 8
PRIVATE_USE = re.compile("[\ue000-\ue003]")

# Words that say nothing about which guide is meant. Dropped from a query unless
# nothing else is left, so "how do I warm up a new IP" looks for warm, up, new, ip.
_STOP_TEXT = (
    "a an and are as at be but by can could did do does for from had has have how i if in "
    "into is it its me my no not of on or our so than that the their them then there these "
    "they this to too us was we were what when where which who why will with would you "
    "your since after before again get got any all"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())

# Column weights: a word in the title says far more than one in the text.
SQLITE_WEIGHTS = (10.0, 4.0, 1.0)
# The indexed expression of ix_article_search, word for word.
PG_VECTOR = (
    "(setweight(to_tsvector('english', title), 'A') || "
    "setweight(to_tsvector('english', summary), 'B') || "
    "setweight(to_tsvector('english', body_md), 'C'))"
)

_WORD_CHARS = re.compile(r"[^\w.\-@]+")
_HAS_WORD = re.compile(r"\w")


@dataclass
class Hit:
    article: Article
    title_html: Markup
    snippet_html: Markup
    rank: float


def terms_of(query: str) -> list[str]:
    """The words of a query, lower-cased, stripped of syntax, common endings and
    stop words dropped; at most MAX_TERMS, duplicates removed."""
    words = []
    for raw in _WORD_CHARS.sub(" ", (query or "")[:MAX_QUERY].lower()).split():
        word = raw.strip(".-@_")
        # "warm-u" is "warm-up" being typed: a lone last letter says nothing yet.
        tokens = _TOKEN.findall(word)
        if len(tokens) > 1 and len(tokens[-1]) == 1 and tokens[-1].isalpha():
            word = word[: word.rindex(tokens[-1])].rstrip(".-@_")
        word = _stem(word)
        if word and _HAS_WORD.search(word) and word not in words:
            words.append(word)
    # Only stop words ("the", "how do I") say nothing to look for; PostgreSQL's
    # index does not even hold them.
    return [w for w in words if w not in STOP_WORDS][:MAX_TERMS]


_TOKEN = re.compile(r"\w+")


def _stem(word: str) -> str:
    """Take a common English ending off a plain word, so that the prefix match finds
    its other forms: "defers" and "deferred" look for defer*, "listing" for list*,
    "replies" for repl*. The FTS5 tokenizer does not stem; PostgreSQL stems again."""
    if not word.isalpha() or len(word) < 4:
        return word
    for ending, keep in (("ies", 4), ("ied", 4), ("ing", 4), ("ed", 4), ("es", 3), ("s", 3)):
        if word.endswith(ending) and len(word) - len(ending) >= keep:
            if ending == "es" and word[-3] not in "sxz" and not word.endswith(("ches", "shes")):
                ending = "s"  # rates -> rate, boxes -> box
            if ending == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(ending)]
    return word


def _prefixable(term: str) -> bool:
    """A term gets a prefix marker when its last token has two characters or more:
    a one-character prefix ("u*" of "warm-u", "2*" of "127.0.0.2") has no prefix
    index and expands to every token starting with it."""
    tokens = _TOKEN.findall(term)
    return bool(tokens) and len(tokens[-1]) >= 2


def fts5_query(terms: list[str], any_term: bool = False) -> str:
    """An FTS5 MATCH expression: each term a quoted string (so FTS5 reads it as
    text, and a word such as 4.7.28 as a phrase), with * for prefix matching."""
    parts = []
    for term in terms:
        quoted = '"' + term.replace('"', '""') + '"'
        parts.append(f"{quoted} *" if _prefixable(term) else quoted)
    return (" OR " if any_term else " AND ").join(parts)


def tsquery(terms: list[str], any_term: bool = False) -> str:
    """A to_tsquery expression: each term a quoted lexeme with a :* prefix marker.
    Terms hold only word characters, dots, hyphens and @ (see terms_of), so
    they cannot close the quotes or bring operators of their own."""
    parts = [f"'{term}':*" if _prefixable(term) else f"'{term}'" for term in terms]
    return (" | " if any_term else " & ").join(parts)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_MD_EMPHASIS = re.compile(r"\*\*|__|`+")
_MD_BLOCK = re.compile(r"^\s*(?:#{1,6}\s|>\s?|[-*+]\s|\d+\.\s)|\|", re.MULTILINE)
_MD_RULE = re.compile(r"(?:^|\s)[-:| ]{3,}(?=\s|$)")
_SPACES = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """Markdown as the words a reader sees: link targets, emphasis, heading and
    list marks and table rules removed, white space collapsed."""
    plain = _MD_LINK.sub(r"\1", markdown or "")
    plain = _MD_EMPHASIS.sub("", plain)
    plain = _MD_BLOCK.sub(" ", plain)
    plain = _MD_RULE.sub(" ", plain)
    return _SPACES.sub(" ", plain).strip()


@dataclass(frozen=True)
class Markers:
    start: str
    stop: str

    @classmethod
    def new(cls) -> Markers:
        nonce = secrets.token_hex(6)
        return cls(f"\ue000{nonce}\ue002", f"\ue003{nonce}\ue001")


def highlight_html(marked: str, markers: Markers) -> Markup:
    """Text with the markers around matches -> safe HTML with <mark> around them:
    escaped first, then only this search's markers become tags."""
    escaped = str(escape(marked or ""))
    pattern = re.escape(markers.start) + "(.*?)" + re.escape(markers.stop)
    html = re.sub(pattern, lambda m: "<mark>" + m.group(1) + "</mark>", escaped, flags=re.DOTALL)
    html = html.replace(markers.start, "").replace(markers.stop, "")
    return Markup(PRIVATE_USE.sub("", html))


class Highlighter:
    """Finds the words a search matched in a text, the way the index matched them:
    each term at the start of a word (a prefix when the query made it one), a term
    of several tokens (4.7.28, warm-up) as those tokens in a row, and on
    PostgreSQL also the stem the english configuration made of it ("delist" of
    "delisting").

    Done here rather than by FTS5's snippet() or PostgreSQL's ts_headline: both
    parse each article's whole text again, and FTS5 re-runs the query (every
    prefix expanded) to do it. Over 4 KB articles that cost more than the ranking
    itself; a regular expression over the text of the twenty rows shown costs
    a fraction of a millisecond each."""

    def __init__(self, terms: list[str], stems: list[list[str]] | None = None):
        alternatives = []
        for i, term in enumerate(terms):
            tail = r"\w*" if _prefixable(term) else r"(?!\w)"
            forms = [r"\W+".join(map(re.escape, _TOKEN.findall(term))) + tail]
            forms += [re.escape(stem) + r"\w*" for stem in (stems[i] if stems else []) if stem]
            alternatives.append(f"(?P<t{i}>" + "|".join(sorted(set(forms), key=len, reverse=True)) + ")")
        self.pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)

    def spans(self, text_: str) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), m.lastgroup) for m in self.pattern.finditer(text_)]

    def mark(self, text_: str, markers: Markers) -> str:
        return self._insert(text_, self.spans(text_), 0, len(text_), markers)

    def snippet(self, markdown: str, markers: Markers, words: int = 28) -> str | None:
        """About ``words`` words of the text around the passage holding the most
        different terms, Markdown removed; None when no term is in the text. The
        passage is found in the Markdown and only it is cleaned, so a long article
        costs one scan."""
        hits = self.spans(markdown)[:64]
        if not hits:
            return None
        width = words * 7  # characters, for choosing the passage; cut at words below
        best, j = None, 0
        for i, (start, _, _) in enumerate(hits):
            while j < len(hits) and hits[j][0] < start + width:
                j += 1
            score = (len({h[2] for h in hits[i:j]}), j - i)
            if best is None or score > best[0]:
                best = (score, start)
        # Some room either side for the Markdown that cleaning takes out.
        begin = self._word_start(markdown, max(0, best[1] - 60))
        end = self._word_end(markdown, min(len(markdown), begin + width + 80))
        cleaned = plain_text(markdown[begin:end])
        cut = self._word_end(cleaned, min(len(cleaned), width + 20))
        passage = cleaned[:cut]
        marked = self._insert(passage, self.spans(passage), 0, len(passage), markers)
        if markers.start not in marked:
            return None
        more = end < len(markdown) or cut < len(cleaned)
        return ("…" if begin > 0 else "") + marked + ("…" if more else "")

    @staticmethod
    def _insert(text_: str, hits, begin: int, end: int, markers: Markers) -> str:
        out, position = [], begin
        for start, stop, _ in hits:
            out += [text_[position:start], markers.start, text_[start:stop], markers.stop]
            position = stop
        out.append(text_[position:end])
        return "".join(out)

    @staticmethod
    def _word_start(text_: str, index: int) -> int:
        if index == 0:
            return 0
        space = text_.find(" ", index)
        return space + 1 if 0 <= space < index + 30 else index

    @staticmethod
    def _word_end(text_: str, index: int) -> int:
        if index >= len(text_):
            return len(text_)
        space = text_.rfind(" ", index - 30, index)
        return space if space > 0 else index


def search(query: str, limit: int = 20, published_only: bool = True) -> list[Hit]:
    """Articles matching every word first, best first; when fewer than three do,
    those matching any of the words follow, so a described problem still finds
    the guides that share its key words."""
    terms = terms_of(query)
    if not terms:
        return []
    normalized = _normalized(terms) if db.engine.dialect.name == "postgresql" else {}
    stems = {term: lexemes[:1] for term, (_, lexemes) in normalized.items()}
    ranked = _ranked(terms, limit, any_term=False, published_only=published_only, pg=normalized)
    if len(ranked) < min(3, limit) and len(terms) > 1:
        # Single characters ("1" of "severity 1") match nearly everything on their own.
        words = [t for t in terms if len(t) > 1] or terms
        seen = {article_id for article_id, _ in ranked}
        more = _ranked(words, limit, any_term=True, published_only=published_only, pg=normalized)
        ranked += [row for row in more if row[0] not in seen][: limit - len(ranked)]
    if not ranked:
        return []
    articles = {
        a.id: a
        for a in db.session.scalars(
            select(Article)
            .where(Article.id.in_([article_id for article_id, _ in ranked]))
            .options(joinedload(Article.category), defer(Article.body_html))
        )
    }
    highlighter, markers = Highlighter(terms, [stems.get(t, []) for t in terms]), Markers.new()
    hits = []
    for article_id, score in ranked:
        article = articles.get(article_id)
        if article is None:
            continue
        snippet = highlighter.snippet(article.body_md, markers)
        if snippet is None:
            snippet = highlighter.mark(article.summary, markers)
        hits.append(Hit(
            article,
            highlight_html(highlighter.mark(article.title, markers), markers),
            highlight_html(snippet, markers),
            score,
        ))
    return hits


# How much a word found in the title (or summary) multiplies the text score, split
# over the words of the query: every word in the title triples it. On a small
# knowledge base the words people search for ("gmail", "warm") appear in most
# guides, their inverse document frequency is close to zero, and the title is
# what tells the guides apart.
TITLE_FACTOR = 2.0
SUMMARY_FACTOR = 0.5
# Rows ranked beyond the limit before drafts are dropped; all only if too few are left.
CANDIDATES = 40


def _ranked(
    terms: list[str], limit: int, any_term: bool, published_only: bool, pg: dict | None = None
) -> list[tuple[int, float]]:
    """(article id, score) of the best ``limit`` matches, best first."""
    if db.engine.dialect.name == "postgresql":
        return _ranked_postgresql(terms, limit, any_term, published_only, pg or {})
    match = fts5_query(terms, any_term)
    if db.session.scalar(text(_COUNT), {"match": match}) > BROAD:
        # A word in most articles: the best of them have it in the title or summary.
        rows = _ranked_sqlite(terms, match, limit, published_only, narrow=True)
        if len(rows) >= limit:
            return rows
    return _ranked_sqlite(terms, match, limit, published_only)


# Above this many matches, only the articles with a query word in the title or the
# summary are ranked: bm25 costs about a microsecond per match and prefix, and the
# weights below would put those articles first anyway.
BROAD = 1000
_COUNT = "SELECT count(*) FROM article_fts WHERE article_fts MATCH :match"


def _ranked_sqlite(terms, match, limit, published_only, narrow=False) -> list[tuple[int, float]]:
    """bm25 with column weights over every match, multiplied for the words found in
    the title and summary. Everything here reads only the FTS5 index: the column
    filters ({title} : ...) answer "is the word in the title" without the text. The
    article rows, whose Markdown and HTML make them long, are read for the
    candidates only, to drop drafts; when drafts took too many places, again
    without the cut."""
    params: dict = {"match": match}
    if narrow:
        heads = " OR ".join(f'"{t}" *' if _prefixable(t) else f'"{t}"' for t in terms)
        params["match"] = f"({match}) AND ({{title summary}} : ({heads}))"
    factors = []
    for i, term in enumerate(terms):
        one = f'"{term}" *' if _prefixable(term) else f'"{term}"'
        params[f"t{i}"] = "{title} : (" + one + ")"
        params[f"s{i}"] = "{summary} : (" + one + ")"
        factors.append(
            f"{TITLE_FACTOR / len(terms)} * (rowid IN (SELECT rowid FROM article_fts WHERE article_fts MATCH :t{i}))"
            f" + {SUMMARY_FACTOR / len(terms)} * (rowid IN (SELECT rowid FROM article_fts WHERE article_fts MATCH :s{i}))"
        )
    weights = ", ".join(map(str, SQLITE_WEIGHTS))
    sql = text(
        f"""
        SELECT c.id, c.score, a.published FROM (
            SELECT rowid AS id, -bm25(article_fts, {weights}) * (1 + {" + ".join(factors)}) AS score
            FROM article_fts WHERE article_fts MATCH :match
            ORDER BY score DESC, id LIMIT :candidates
        ) AS c JOIN article AS a ON a.id = c.id
        ORDER BY c.score DESC, c.id
        """
    )
    for candidates in (limit + CANDIDATES, -1):
        rows = db.session.execute(sql, {**params, "candidates": candidates}).all()
        found = [(r[0], r[1]) for r in rows if r[2] or not published_only]
        if len(found) >= limit or len(rows) < candidates or candidates == -1:
            return found[:limit]
    return []


# PostgreSQL ranks in two steps. ts_rank needs each match's tsvector, which the
# GIN index does not keep, so it would run to_tsvector over the Markdown of every
# match: measured at about 3 ms per 4 KB article, 10 s for the 7,354 matches of
# "gmail" among 10,000 articles. So the index finds the matches, the words found
# in their titles order them, the best PG_CANDIDATES are read, and those are
# ranked here like bm25 does on SQLite (term frequency, column weights, length). A stored tsvector column with its own GIN
# index would let ts_rank do this in the database; that is a schema change.
PG_CANDIDATES = 50
_K1, _B = 1.2, 0.75
_PHRASE = re.compile(r"<(?:-|\d+)>")


def _normalized(terms: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Each term as the english configuration reads it: (tsquery text, lexemes).
    A term of several tokens comes back as a phrase ('rp' <-> '-001'); a phrase
    cannot be decided by the GIN index alone and makes PostgreSQL recompute the
    tsvector of every candidate row (over a second for "RP-001" among 10,000
    articles), so its tokens are asked for together (&) instead. The text is
    PostgreSQL's own output, lexemes quoted by it, so it is read back as is."""
    rows = db.session.execute(
        text("SELECT " + ", ".join(f"to_tsquery('english', :q{i})::text" for i in range(len(terms)))),
        {f"q{i}": tsquery([term]) for i, term in enumerate(terms)},
    ).one()
    out = {}
    for term, tsq in zip(terms, rows, strict=True):
        tsq = _PHRASE.sub("&", tsq or "").strip()
        lexemes = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", tsq)]
        out[term] = (tsq, lexemes)
    return out


def _ranked_postgresql(terms, limit, any_term, published_only, normalized) -> list[tuple[int, float]]:
    parts = [f"( {normalized[t][0]} )" for t in terms if normalized.get(t, ("",))[0]]
    if not parts:
        return []  # only stop words, which the index does not hold
    params: dict = {"tsq": (" | " if any_term else " & ").join(parts), "candidates": PG_CANDIDATES}
    boosts = []
    for i, term in enumerate(terms):
        # The order of the candidates: the words found in the title. A plain
        # substring test on the title only, as it runs for every match (about
        # 1.5 us a test); the summary counts in the score of the candidates below.
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[f"w{i}"] = f"%{escaped}%"
        boosts.append(f"(CASE WHEN a.title ILIKE :w{i} THEN 1 ELSE 0 END)")
    published = "AND a.published" if published_only else ""
    # The WHERE clause is the indexed expression word for word: the GIN index answers it.
    # The Markdown is read for the candidates only: selected in the ranking query
    # itself, it would be fetched and decompressed for every match before the sort.
    sql = text(
        f"""
        SELECT a.id, a.title, a.summary, a.body_md
        FROM (
            SELECT a.id, {" + ".join(boosts)} AS boost
            FROM article AS a, CAST(:tsq AS tsquery) AS q
            WHERE {PG_VECTOR} @@ q {published}
            ORDER BY boost DESC, a.id DESC
            LIMIT :candidates
        ) AS c JOIN article AS a ON a.id = c.id
        """
    )
    # When a word is in most articles the planner prices a sequential scan below the
    # index, not knowing that it would run to_tsvector over every article (seconds);
    # the bitmap scan of the GIN index needs no recheck and takes milliseconds.
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        rows = db.session.execute(sql, params).all()
    finally:
        db.session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
    if not rows:
        return []
    pattern = Highlighter(terms, [normalized.get(t, ("", []))[1][:1] for t in terms]).pattern
    avg_body = sum(len(r.body_md) for r in rows) / len(rows) or 1.0
    scored = []
    for r in rows:
        score, factor = 0.0, 1.0
        for field, weight, norm, boost in (
            (r.title, SQLITE_WEIGHTS[0], 1.0, TITLE_FACTOR),
            (r.summary, SQLITE_WEIGHTS[1], 1.0, SUMMARY_FACTOR),
            (r.body_md, SQLITE_WEIGHTS[2], len(r.body_md) / avg_body, 0.0),
        ):
            counts = Counter(m.lastgroup for m in pattern.finditer(field))
            factor += boost * len(counts) / len(terms)
            for tf in counts.values():
                score += weight * tf / (tf + _K1 * (1 - _B + _B * norm))
        scored.append((r.id, score * factor))
    scored.sort(key=lambda item: (-item[1], -item[0]))
    return scored[:limit]
