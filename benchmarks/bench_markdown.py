"""Markdown from the logs rendered to sanitised HTML: hostile inputs of 100 KB and 1 MB, seconds per 100 KB.

Each pattern is the kind of input that makes a naive Markdown or HTML parser go quadratic: runs of
brackets, emphasis markers, backticks, `<`, unclosed comments, deep nesting of quotes, lists and raw
HTML. The goal is that every one renders in well under a second per 100 KB (medians of 3).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.common import median_seconds, table

GOAL_SECONDS_PER_100KB = 1.0
SIZES = (100_000, 1_000_000)


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda size: (unit * (size // len(unit) + 1))[:size]


def _nested_lists(size: int) -> str:
    lines, depth = [], 0
    while sum(map(len, lines)) < size:
        lines.append("  " * depth + "- a\n")
        depth += 1
    return "".join(lines)


def _growing_backtick_runs(size: int) -> str:
    parts, run, total = [], 1, 0
    while total < size:
        parts.append("`" * run + "a")
        total += run + 1
        run = run % 200 + 1
    return "".join(parts)


def _link_definitions(size: int) -> str:
    label = "[" + "l" * 900
    return _repeat(label + "]: /u 'title'\n" + label + "]\n")(size)


# name -> a function of the size in bytes (characters, all ASCII) giving hostile Markdown of that size
PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "[ run": _repeat("["),
    "![ run": _repeat("!["),
    "]( run": _repeat("]("),
    "[a]( run": _repeat("[a]("),
    "[ (]( run": _repeat("[ (]("),
    "* run": _repeat("*"),
    "_ run": _repeat("_"),
    "a* run": _repeat("a*"),
    "*a _a run": _repeat("*a _a "),
    "** and _ mixed": _repeat("**a_ [b "),
    "< run": _repeat("<"),
    "<a x=\" run": _repeat("<a x=\""),
    "<!-- run": _repeat("<!--"),
    "</ run": _repeat("</"),
    "backtick run": _repeat("`"),
    "growing backtick runs": _growing_backtick_runs,
    "nested >": _repeat(">"),
    "nested > with spaces": _repeat("> "),
    "nested lists": _nested_lists,
    "nested ordered lists": _repeat("1. "),
    "long link definitions": _link_definitions,
    "table cells": lambda size: "| a |\n|---|\n" + _repeat("|x")(size),
    "table rows": lambda size: "| a | b |\n|---|---|\n" + _repeat("| 1 |\n")(size),
    "raw <div> nesting": _repeat("<div>"),
    "raw <b> nesting": _repeat("<b>"),
    "raw <p><b id> nesting": lambda size: "".join(f"<p><b id={i}>" for i in range(size // 14 + 1))[:size],
    "raw <table> nesting": _repeat("<table><tr><td>"),
    "~~ run": _repeat("~~a "),
}


def hostile_markdown(name: str, size: int) -> str:
    return PATHOLOGICAL[name](size)


def run(scale: float = 1.0) -> dict:
    from reporter.site.markdown import render_markdown

    sizes = [max(1_000, int(size * scale)) for size in SIZES]
    repeats = 3 if scale >= 1 else 1
    rows, per_100kb = [], {}
    for name in PATHOLOGICAL:
        for size in sizes:
            text = hostile_markdown(name, size)
            seconds = median_seconds(lambda text=text: render_markdown(text), repeats)
            rate = seconds / (size / 100_000)
            per_100kb[f"{name} @ {size}"] = rate
            rows.append({"measure": f"`{name}`, {size / 1000:g} KB", "value": f"{rate:.3f} s per 100 KB",
                         "target": f"< {GOAL_SECONDS_PER_100KB:g} s per 100 KB",
                         "met": rate < GOAL_SECONDS_PER_100KB})
    print(table("Hostile Markdown (notes.md, descriptions, .md artifacts)", rows))
    return {"seconds_per_100kb": per_100kb, "rows": rows}


if __name__ == "__main__":
    run()
