"""Generate a deterministic benchmark site for sonicgen.

Usage::

    python bench/generate.py OUT_DIR --pages N [--seed 1]

The corpus is a complete site: ``OUT_DIR/site.yaml`` and N Markdown posts in
``OUT_DIR/content/posts/post-00001.md`` ... (five digits, more when N needs them).
Nothing else is written; post files left over from an earlier, larger run into the same
folder are removed so the folder always holds exactly one corpus.

Shape of the corpus
-------------------
* One ``posts`` collection (``/posts/{year}/{slug}/``, sorted by ``-date``, 20 per list
  page) with fields ``title``, ``date``, ``summary`` (about 60% of posts) and ``tags``,
  and one ``tags`` taxonomy.
* Dates are spread uniformly over 2015-01-01..2025-12-31 (UTC, minute precision) and
  numbered in date order, so ``post-00001`` is the oldest.
* Each post has 1-4 tags drawn from a vocabulary of about 200 with Zipf-like weights
  (weight of the k-th tag ~ 1/k), so a few tags have thousands of posts and most have few.
* Bodies look like technical blog posts: an introduction, several ``##`` sections
  (some with ``###`` subsections), paragraphs of template-built prose with emphasis and
  inline code, bullet lists, 1-3 fenced code blocks (python, js, bash, yaml), a GFM table
  in about half of the posts, and 2-5 links to other posts of the corpus at their real
  URLs (``/posts/<year>/post-NNNNN/``).
* Body sizes follow a log-normal distribution with a median of about 6 KB, clamped to
  2-12 KB.

Everything comes from one ``random.Random(seed)``: no clock, no network, no environment,
so the same seed and page count produce byte-identical files on every machine (with the
same Python version: ``random``'s algorithms are stable but not formally guaranteed).
10,000 posts take a few seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import TypeVar

BASE_URL = "https://bench.example.org/"
START = datetime(2015, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)  # exclusive
MEDIAN_BODY = 6000
BODY_SIGMA = 0.4
MIN_BODY = 2048
MAX_BODY = 12000
POST_FILE = re.compile(r"^post-\d+\.md$")
T = TypeVar("T")

SITE_YAML = """\
# Benchmark corpus written by bench/generate.py --pages {pages} --seed {seed}.
title: sonicgen benchmark corpus
description: Synthetic technical blog used to measure sonicgen builds.
base_url: {base_url}
theme: default

collections:
  posts:
    title: Posts
    permalink: /posts/{{year}}/{{slug}}/
    sort: -date
    page_size: 20
    fields:
      title: {{type: string, required: true}}
      date: {{type: datetime, required: true}}
      summary: {{type: text}}
      tags: {{type: list, items: string}}

taxonomies:
  tags: {{}}
"""

# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> list[str]:
    return text.split()


TAGS = _words(
    """
python javascript typescript rust go java kotlin swift ruby php elixir haskell scala c cpp
zig bash sql graphql html css webassembly linux macos windows docker kubernetes helm
terraform ansible nginx caddy postgres mysql sqlite redis kafka rabbitmq elasticsearch
clickhouse duckdb mongodb cassandra s3 cdn dns tls http2 http3 websockets grpc rest
json-api openapi oauth jwt security authentication authorization cryptography privacy
performance profiling benchmarks caching memory concurrency async threads multiprocessing
garbage-collection compilers interpreters parsing regex unicode markdown yaml toml
static-sites jamstack ssg templates jinja themes accessibility css-grid flexbox
typography dark-mode i18n localization seo feeds sitemaps search full-text-search
observability logging metrics tracing opentelemetry prometheus grafana alerting
incident-response sre on-call reliability chaos-engineering load-testing capacity-planning
ci cd github-actions gitlab-ci testing unit-tests integration-tests property-testing
fuzzing mutation-testing code-review refactoring legacy-code technical-debt architecture
microservices monoliths event-sourcing cqrs domain-driven-design api-design versioning
semver release-engineering packaging pip poetry uv npm pnpm vite webpack esbuild bundlers
monorepos build-systems bazel make nix reproducible-builds supply-chain sbom licensing
open-source community documentation writing career mentoring hiring remote-work
productivity tooling editors vim emacs vscode terminals shell git debugging
data-engineering etl pipelines streaming batch-processing pandas polars numpy
machine-learning embeddings vector-search llm evaluation statistics visualization
edge-computing serverless workers cloudflare aws gcp azure cost-optimization networking
ipv6 load-balancing rate-limiting queues scheduling cron migrations backups
disaster-recovery databases indexing query-planning replication sharding consistency
"""
)

NOUNS = _words(
    """
cache build request pipeline template parser worker queue index schema query buffer thread
process container cluster node service endpoint handler config deployment release migration
benchmark profile allocator compiler runtime module package dependency lockfile test
fixture assertion log metric trace span dashboard alert incident rollback flag page
permalink feed sitemap collection field slug taxonomy theme layout partial filter plugin
hook manifest checksum snapshot artifact registry mirror proxy gateway router middleware
session token cookie header payload response stream socket connection pool transaction
lock replica shard partition table column row batch job scheduler timer deadline budget
latency throughput regression baseline histogram percentile sample corpus fingerprint
"""
)

VERBS = _words(
    """
cache parse render validate profile refactor measure reduce merge serialize compress
retry schedule index stream deploy rewrite inline benchmark trace monitor migrate isolate
document review simplify replace shard replicate invalidate warm prune batch debounce
throttle paginate deduplicate normalize encode decode bundle publish rebuild verify
"""
)

ADJECTIVES = _words(
    """
stale incremental cold warm concurrent deterministic flaky idempotent lazy eager verbose
quiet noisy expensive cheap predictable surprising brittle robust naive careful hidden
explicit implicit global local shared immutable mutable partial complete redundant
minimal portable reproducible asynchronous synchronous sequential parallel bounded
unbounded nested flat sparse dense typed untyped hot critical optional
"""
)

ADVERBS = _words(
    """
quickly reliably eventually rarely usually quietly explicitly safely gradually twice
consistently noticeably surprisingly predictably carefully
"""
)

TECH = [
    "Python",
    "Rust",
    "Go",
    "TypeScript",
    "Node.js",
    "PostgreSQL",
    "SQLite",
    "Redis",
    "Kafka",
    "Kubernetes",
    "Docker",
    "nginx",
    "Terraform",
    "Jinja2",
    "markdown-it",
    "Pygments",
    "msgspec",
    "PyYAML",
    "Prometheus",
    "Grafana",
    "OpenTelemetry",
    "ClickHouse",
    "DuckDB",
    "Elasticsearch",
    "Vite",
    "esbuild",
    "Bazel",
    "Nix",
    "GitHub Actions",
    "systemd",
]

HEADINGS = [
    "Background",
    "The problem",
    "What we measured",
    "Results",
    "Trade-offs",
    "Lessons learned",
    "Setting up",
    "A first attempt",
    "Digging deeper",
    "The fix",
    "Why it works",
    "Rolling it out",
    "What we would do differently",
    "Open questions",
    "Configuration",
    "Testing the change",
    "Edge cases",
    "Numbers",
    "Caveats",
    "Next steps",
]
SUBHEADINGS = [
    "A note on {noun_pl}",
    "Measuring the {noun}",
    "When the {noun} is {adj}",
    "{Gerund} the {noun}",
    "The {adj} case",
    "Handling {adj} {noun_pl}",
    "Why not {gerund} {noun_pl}?",
]
SECTION_HEADINGS = [
    "{Gerund} {noun_pl} with {tech}",
    "Why {noun_pl} get {adj}",
    "The {adj} {noun}",
    "Making the {noun} {adj}",
    "{Gerund} the {noun} {noun}",
    "How {tech} handles {noun_pl}",
]
CLOSING_HEADINGS = ["Conclusion", "Wrapping up", "Summary", "Takeaways"]

TITLES = [
    "How we {verb} our {noun} with {tech}",
    "{Gerund} {noun_pl} in {tech}: lessons learned",
    "A practical guide to {adj} {noun_pl}",
    "Why our {noun} was {adj}, and how we fixed it",
    "{tech} {noun_pl} at scale",
    "Debugging a {adj} {noun} in {tech}",
    "What we learned from {gerund} {noun_pl}",
    "Notes on {adj} {noun_pl}",
    "{tech} or {tech}? {Gerund} {noun_pl} in practice",
    "Ten things about {noun_pl} we wish we had known",
    "The case for {adj} {noun_pl}",
    "{Gerund} {noun_pl} without breaking the {noun}",
]

SENTENCES = [
    "The {adj} {noun} {verb3} every {noun} before the {noun} is {adj}.",
    "We {verb} the {noun} so that each {noun} {verb3} {adv}.",
    "In practice, {noun_pl} {verb} {adv} once the {noun} is {adj}.",
    "A {adj} {noun} is rarely the bottleneck; the {noun} usually is.",
    "With {tech}, {gerund} a {noun} takes one call to `{code}`.",
    "Our first version would {verb} the whole {noun} on every {noun}, which was *{adj}*.",
    "The trick is to {verb} the {noun} only when its {noun} changes.",
    "Nothing here is specific to {tech}: any {adj} {noun} {verb3} the same way.",
    "Most {noun_pl} are {adj}, but the ones that are not dominate the {noun}.",
    "If the {noun} is **{adj}**, the {noun} has to {verb} it again.",
    "That leaves the {noun}, which we {verb} with `{code}` and a {adj} {noun}.",
    "You can {verb} {noun_pl} {adv}, but you cannot {verb} a {adj} {noun}.",
    "The {noun} now {verb3} in a {adj} {noun} instead of the {noun}.",
    "Setting `{code}` to `{value}` made the {noun} {adj} again.",
    "We kept the {adj} {noun} and moved the {noun} behind a {noun}.",
    "This is where {gerund} {noun_pl} pays off: the {noun} stays {adj}.",
    "Each {noun} {verb3} its own {noun}, so no {noun} is {adj}.",
    "The {noun} went from {number} ms to {number} ms after we stopped {gerund} the {noun}.",
    "It is tempting to {verb} every {noun}, but {noun_pl} are cheaper to {verb}.",
    "Reviewers asked why the {noun} was {adj}, and the answer was the {noun}.",
    "Under load, {noun_pl} {verb} {adv} and the {noun} becomes {adj}.",
    "The {adj} path is short: {verb} the {noun}, then {verb} the {noun}.",
]
LINK_SENTENCES = [
    "For background, see [{title}]({url}).",
    "We covered the {noun} side of this in [{title}]({url}).",
    "[{title}]({url}) goes into more detail on {noun_pl}.",
    "The same {noun} showed up in [{title}]({url}), for different reasons.",
    "If you have not read it yet, [{title}]({url}) explains the {adj} {noun}.",
]
LIST_ITEMS = [
    "{Verb} the `{code}` {noun} before {gerund} anything else",
    "Keep {noun_pl} {adj} unless a {noun} needs them",
    "Use `{code}` for {adj} {noun_pl}",
    "{Gerund} {noun_pl} is *{adj}* when the {noun} is {adj}",
    "Measure the {noun} with and without the {noun}",
    "Never {verb} a {noun} that another {noun} owns",
    "Document the {noun} next to `{code}`",
]
TABLE_METRICS = ["p50 (ms)", "p99 (ms)", "Throughput (req/s)", "Memory (MB)", "Errors", "Files", "Build (s)"]
SUMMARIES = [
    "How {gerund} {noun_pl} with {tech} made our {noun} {adj}.",
    "A look at {adj} {noun_pl}, what they cost, and when to {verb} them.",
    "How we {verb} the {noun}, and what it did to the {noun}.",
    "Notes from {gerund} a {adj} {noun} in {tech}.",
]


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _third(verb: str) -> str:
    return _plural(verb)


def _articles(text: str) -> str:
    """'a expensive cache' → 'an expensive cache'.

    Plain replacements are much faster than a regular expression over a whole body, and the
    word lists have no exceptions such as 'a unit' or upper-case words ending in 'A'.
    """
    for vowel in "aeiou":
        text = text.replace(" a " + vowel, " an " + vowel).replace("A " + vowel, "An " + vowel)
    return text


def _gerund(verb: str) -> str:
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


CODE_WORDS = [n for n in NOUNS if len(n) <= 9]
IDENTS = [f"{a}_{b}" for a in VERBS[:24] for b in CODE_WORDS[:24]]
CODE_SPANS = IDENTS + [f"{i}()" for i in IDENTS[::7]] + [f"--{v}" for v in VERBS] + [f"{n}.yaml" for n in CODE_WORDS[:30]]
VALUES = ["true", "false", "0", "1", "16", "64", "256", "1024", "none", "auto", "30s", "5m"]

POOLS: dict[str, Sequence[str]] = {
    "noun": NOUNS,
    "noun_pl": [_plural(n) for n in NOUNS],
    "Noun": [n.capitalize() for n in NOUNS],
    "verb": VERBS,
    "Verb": [v.capitalize() for v in VERBS],
    "verb3": [_third(v) for v in VERBS],
    "gerund": [_gerund(v) for v in VERBS],
    "Gerund": [_gerund(v).capitalize() for v in VERBS],
    "adj": ADJECTIVES,
    "adv": ADVERBS,
    "tech": TECH,
    "code": CODE_SPANS,
    "value": VALUES,
    "number": [str(n) for n in (3, 8, 12, 40, 85, 120, 240, 410, 900, 1800, 2600)],
}

# A compiled template: (literal text, slot name, word pool, pool size) tuples.  The pool is
# empty for the final literal and for slots filled from ``extra`` (a link's title and URL).
Template = tuple[tuple[str, str, Sequence[str], int], ...]
_SLOT = re.compile(r"\{(\w+)\}")


def _compile(text: str) -> Template:
    parts: list[tuple[str, str, Sequence[str], int]] = []
    pos = 0
    for match in _SLOT.finditer(text):
        slot = match.group(1)
        pool = POOLS.get(slot, ())
        parts.append((text[pos : match.start()], slot, pool, len(pool)))
        pos = match.end()
    parts.append((text[pos:], "", (), 0))
    return tuple(parts)


def _compile_all(texts: Sequence[str]) -> list[Template]:
    return [_compile(t) for t in texts]


C_TITLES = _compile_all(TITLES)
C_SENTENCES = _compile_all(SENTENCES)
C_LINKS = _compile_all(LINK_SENTENCES)
C_ITEMS = _compile_all(LIST_ITEMS)
C_SECTIONS = _compile_all(SECTION_HEADINGS)
C_SUBHEADINGS = _compile_all(SUBHEADINGS)
C_SUMMARIES = _compile_all(SUMMARIES)

# Fenced code blocks, by language: (head, line).  ``line`` is repeated 1-6 times with fresh
# words and the repetitions replace ``{body}`` in ``head``; ``{{``/``}}`` are literal braces.
CODE_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "python": [
        (
            """\
def {a}(items: list[str]) -> dict[str, int]:
    # {doc}
    counts: dict[str, int] = {{}}
    for item in items:
{body}    return counts
""",
            "        counts[item.{b}()] = counts.get(item, 0) + {n}\n",
        ),
        (
            """\
import functools


@functools.lru_cache(maxsize={big})
def {a}(key: str) -> bytes:
    # {doc}
{body}    return {b}(key).encode()
""",
            "    if key.startswith('{w}'):\n        return b'{w}'\n",
        ),
        (
            """\
class {C}:
    def __init__(self, limit: int = {n}) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def {a}(self, value: str) -> bool:
{body}        self.seen.add(value)
        return len(self.seen) <= self.limit
""",
            "        if value == '{w}':\n            return False\n",
        ),
    ],
    "js": [
        (
            """\
export async function {A}(url) {{
  // {doc}
  const res = await fetch(url);
  const data = await res.json();
{body}  return data;
}}
""",
            "  data.{b} = data.{b} ?? {n};\n",
        ),
        (
            """\
const {A} = new Map();

function {B}(key, value) {{
{body}  {A}.set(key, value);
  return {A}.size;
}}
""",
            "  if (key === '{w}') return {n};\n",
        ),
    ],
    "bash": [
        (
            """\
#!/usr/bin/env bash
set -euo pipefail
# {doc}
{body}echo "done"
""",
            "{w}-tool {a} --{b} {n} ./{w}/\n",
        ),
        (
            """\
for f in content/{w}/*.md; do
{body}done
""",
            '  grep -q \'{b}:\' "$f" || echo "missing {b} in $f"\n',
        ),
    ],
    "yaml": [
        (
            """\
# {doc}
{a}:
  enabled: true
  limit: {n}
{body}""",
            "  {b}:\n    mode: {w}\n    retries: {n}\n",
        ),
        (
            """\
jobs:
  {a}:
    runs-on: ubuntu-latest
    steps:
{body}""",
            "      - run: make {b} N={n}\n",
        ),
    ],
}
LANGUAGES = list(CODE_TEMPLATES)


def zipf_cumulative(n: int, exponent: float = 1.0) -> list[float]:
    """Cumulative weights of a Zipf-like distribution over ranks 1..n."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, n + 1)))


TAG_WEIGHTS = zipf_cumulative(len(TAGS))

# ------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class PostMeta:
    number: int
    slug: str
    date: datetime
    title: str
    tags: list[str]
    summary: str | None

    @property
    def url(self) -> str:
        return f"/posts/{self.date.year:04d}/{self.slug}/"


class Corpus:
    """Draws every value of the corpus from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = Random(seed)
        self.random: Callable[[], float] = self.rng.random

    # --- primitives -------------------------------------------------------------

    def pick(self, pool: Sequence[T]) -> T:
        """One item of ``pool``, uniformly (cheaper than ``Random.choice``)."""
        return pool[int(self.random() * len(pool))]

    def between(self, low: int, high: int) -> int:
        """Uniform integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def fill(self, template: Template, extra: dict[str, str] | None = None) -> str:
        """Fill every slot with a random word of its pool, or with ``extra[slot]``."""
        random = self.random  # the hot loop of the generator: avoid attribute and call overhead
        out = []
        for literal, slot, pool, size in template:
            out.append(literal)
            if size:
                out.append(pool[int(random() * size)])
            elif slot:
                out.append(extra[slot] if extra else slot)
        return "".join(out)

    def sentence(self) -> str:
        text = self.fill(self.pick(C_SENTENCES))
        return text[0].upper() + text[1:]

    # --- metadata ---------------------------------------------------------------

    def posts(self, count: int) -> list[PostMeta]:
        span = int((END - START).total_seconds()) // 60
        minutes = sorted(int(self.random() * span) for _ in range(count))
        width = max(5, len(str(count)))
        out = []
        for index, offset in enumerate(minutes, 1):
            title = self.fill(self.pick(C_TITLES))
            title = _articles(title[0].upper() + title[1:])
            summary = self.fill(self.pick(C_SUMMARIES)) if self.random() < 0.6 else None
            if summary:
                summary = _articles(summary[0].upper() + summary[1:])
            out.append(
                PostMeta(
                    number=index,
                    slug=f"post-{index:0{width}d}",
                    date=START + timedelta(minutes=offset),
                    title=title,
                    tags=self.tags(),
                    summary=summary,
                )
            )
        return out

    def tags(self) -> list[str]:
        count = self.rng.choices((1, 2, 3, 4), weights=(3, 4, 2, 1))[0]
        chosen: list[str] = []
        while len(chosen) < count:
            tag = self.rng.choices(TAGS, cum_weights=TAG_WEIGHTS)[0]
            if tag not in chosen:
                chosen.append(tag)
        return chosen

    # --- body blocks ------------------------------------------------------------

    def paragraph(self, limit: int = MAX_BODY) -> str:
        """Two to six sentences, fewer once the paragraph reaches ``limit`` characters."""
        sentences = [self.sentence()]
        size = len(sentences[0])
        for _ in range(self.between(1, 5)):
            if size >= limit:
                break
            sentences.append(self.sentence())
            size += len(sentences[-1]) + 1
        return " ".join(sentences)

    def bullet_list(self) -> str:
        items = []
        for _ in range(self.between(3, 6)):
            text = self.fill(self.pick(C_ITEMS))
            items.append("- " + text[0].upper() + text[1:])
        return "\n".join(items)

    def heading(self, level: int) -> str:
        if level == 2:
            roll = self.random()
            text = self.pick(HEADINGS) if roll < 0.5 else self.fill(self.pick(C_SECTIONS))
        else:
            text = self.fill(self.pick(C_SUBHEADINGS))
        return "#" * level + " " + text[0].upper() + text[1:]

    def code_block(self) -> str:
        lang = self.pick(LANGUAGES)
        head, line = self.pick(CODE_TEMPLATES[lang])
        words = {
            "a": self.pick(IDENTS),
            "b": self.pick(CODE_WORDS),
            "A": self._camel(),
            "B": self._camel(),
            "C": self._camel().capitalize(),
            "n": str(self.between(1, 64)),
            "big": str(2 ** self.between(6, 14)),
            "w": self.pick(CODE_WORDS),
            "doc": self.sentence().replace('"', "'"),
        }
        lines = []
        for _ in range(self.between(1, 6)):
            words["w"] = self.pick(CODE_WORDS)
            words["b"] = self.pick(CODE_WORDS)
            words["n"] = str(self.between(1, 64))
            lines.append(line.format(**words))
        code = head.format(body="".join(lines), **words)
        return f"```{lang}\n{code}```"

    def _camel(self) -> str:
        return self.pick(VERBS) + self.pick(CODE_WORDS).capitalize()

    def table(self) -> str:
        columns = self.rng.sample(TABLE_METRICS, self.between(2, 4))
        first = self.pick(POOLS["Noun"])
        lines = [
            "| " + " | ".join([first, *columns]) + " |",
            "| --- |" + " ---: |" * len(columns),
        ]
        for _ in range(self.between(3, 8)):
            label = f"`{self.pick(IDENTS)}`" if self.random() < 0.5 else self.pick(TECH)
            values = [self._metric(c) for c in columns]
            lines.append("| " + " | ".join([label, *values]) + " |")
        return "\n".join(lines)

    def _metric(self, column: str) -> str:
        if column in ("Errors", "Files"):
            return str(self.between(0, 5000))
        return f"{self.random() * 1000:.1f}"

    # --- a whole body -----------------------------------------------------------

    def body(self, post: PostMeta, all_posts: Sequence[PostMeta]) -> str:
        """A post body of roughly the drawn target size (blocks are joined by blank lines)."""
        target = round(min(MAX_BODY - 400, max(MIN_BODY, self.rng.lognormvariate(math.log(MEDIAN_BODY), BODY_SIGMA))))
        links = self.link_sentences(post, all_posts)
        fixed = [self.code_block() for _ in range(self.between(1, 3))]
        if self.random() < 0.5:
            fixed.append(self.table())
        closing = [f"## {self.pick(CLOSING_HEADINGS)}", self.paragraph(300)] if self.random() < 0.6 else []
        budget = target - sum(len(b) + 2 for b in fixed + closing) - sum(len(link) + 1 for link in links)

        # sections[0] is the introduction (no heading); every item is one Markdown block.
        sections: list[list[str]] = [[]]
        size = 0

        def add(section: list[str], block: str) -> None:
            nonlocal size
            section.append(block)
            size += len(block) + 2

        add(sections[0], self.paragraph(budget))
        if self.random() < 0.5 and size < budget:
            add(sections[0], self.paragraph(budget - size))
        headings = 0
        # Sections until the budget is spent, and at least three headings even in short posts;
        # a section that ends the budget stops early (the ``else`` extras are skipped).
        while size < budget or headings < 3:
            section: list[str] = []
            sections.append(section)
            add(section, self.heading(2))
            headings += 1
            for _ in range(self.between(1, 3)):
                add(section, self.paragraph(budget - size))
                if size >= budget and headings >= 3:
                    break
            else:
                if self.random() < 0.3 and size < budget:
                    add(section, self.bullet_list())
                if self.random() < 0.35 and size < budget:
                    add(section, self.heading(3))
                    headings += 1
                    for _ in range(self.between(1, 2)):
                        add(section, self.paragraph(budget - size))
        if closing:
            sections.append(closing)

        # Code blocks and the table go after the first paragraph of a random section.
        for block in fixed:
            section = sections[self.between(1, len(sections) - 1)]
            section.insert(self.between(2, len(section)), block)

        # Each link sentence ends a different paragraph while there are enough of them.
        paragraphs = [
            (s, b) for s, section in enumerate(sections) for b, block in enumerate(section) if not block.startswith(("#", "```", "|", "- "))
        ]
        places = self.rng.sample(paragraphs, min(len(paragraphs), len(links)))
        if places and len(places) < len(links):
            places += [places[-1]] * (len(links) - len(places))
        for (s, b), link in zip(places, links, strict=True):
            sections[s][b] += " " + link
        return _articles("\n\n".join(block for section in sections for block in section)) + "\n"

    def link_sentences(self, post: PostMeta, all_posts: Sequence[PostMeta]) -> list[str]:
        """Two to five sentences, each linking to a different other post."""
        wanted = min(self.between(2, 5), len(all_posts) - 1)
        out: list[str] = []
        taken = {post.number}
        while len(out) < wanted:
            target = self.pick(all_posts)
            if target.number in taken:
                continue
            taken.add(target.number)
            text = self.fill(self.pick(C_LINKS), {"title": target.title, "url": target.url})
            out.append(text[0].upper() + text[1:])
        return out


# ------------------------------------------------------------------------------ output


def front_matter(post: PostMeta) -> str:
    lines = [
        "---",
        f"title: {json.dumps(post.title)}",
        f"date: {post.date.strftime('%Y-%m-%dT%H:%M:%SZ')}",
    ]
    if post.summary:
        lines.append(f"summary: {json.dumps(post.summary)}")
    lines.append("tags: [" + ", ".join(json.dumps(t) for t in post.tags) + "]")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def generate(out_dir: Path, pages: int, seed: int) -> int:
    """Write the corpus; return the number of bytes of Markdown written."""
    corpus = Corpus(seed)
    posts = corpus.posts(pages)
    posts_dir = out_dir / "content" / "posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "site.yaml").write_bytes(SITE_YAML.format(pages=pages, seed=seed, base_url=BASE_URL).encode("utf-8"))

    names = set()
    total = 0
    for post in posts:
        text = front_matter(post) + corpus.body(post, posts)
        data = text.encode("utf-8")
        name = f"{post.slug}.md"
        names.add(name)
        (posts_dir / name).write_bytes(data)
        total += len(data)
    for stale in sorted(posts_dir.iterdir()):
        if POST_FILE.match(stale.name) and stale.name not in names:
            stale.unlink()
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a deterministic sonicgen benchmark site.")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write site.yaml and content/ into")
    parser.add_argument("--pages", type=int, required=True, help="number of posts to generate")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    args = parser.parse_args(argv)
    if args.pages < 0:
        parser.error("--pages must be zero or more")
    total = generate(args.out_dir, args.pages, args.seed)
    print(f"wrote {args.pages} posts ({total / 1_000_000:.1f} MB of Markdown) to {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
