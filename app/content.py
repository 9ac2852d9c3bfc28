"""The programme's content: Markdown files with YAML front matter under modules_content/.

Loaded and validated once at start-up; `flask content check` reports problems with file and
line. Used by several domains (module pages, the schedule template's module slugs, the
co-consulting process, reminders), so it sits beside db and clock rather than in one domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nh3
import yaml
from markdown_it import MarkdownIt
from markupsafe import Markup

MODULE_KEYS = {"title": str, "number": int, "summary": str, "topics": list,
               "learning_outcomes": list, "prepare": list}
PAGE_KEYS = {"title": str, "summary": str}
PAGES = ("programme", "welcome", "co-consulting", "celebration")

# Markdown never carries raw HTML; the sanitiser is the second line of defence.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {"a", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "h2", "h3",
                "h4", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(text: str) -> Markup:
    """Markdown to safe HTML: no scripts, no event handlers, no javascript: links."""
    html = _markdown.render(text)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    return Markup(clean)


class ContentError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Step:
    title: str
    minutes: int
    description: str


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    summary: str
    body: str
    path: Path
    meta: dict = field(default_factory=dict)

    @cached_property
    def html(self) -> Markup:
        """Rendered once: the content is read at start-up and does not change while the app runs."""
        return render_markdown(self.body)


@dataclass(frozen=True)
class ModuleContent(Page):
    number: int = 0
    topics: tuple[str, ...] = ()
    learning_outcomes: tuple[str, ...] = ()
    prepare: tuple[str, ...] = ()


@dataclass(frozen=True)
class Content:
    pages: dict[str, Page]
    modules: dict[int, ModuleContent]

    def module(self, number: int) -> ModuleContent:
        return self.modules[number]

    def module_by_slug(self, slug: str) -> ModuleContent | None:
        return next((m for m in self.modules.values() if m.slug == slug), None)

    @property
    def co_consulting_steps(self) -> list[Step]:
        return [Step(title=s["title"], minutes=s["minutes"], description=s["description"])
                for s in self.pages["co-consulting"].meta.get("steps", [])]


def _split(path: Path, problems: list[str]) -> tuple[dict, str, int] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raw = path.read_bytes()
        line = raw[:error.start].count(b"\n") + 1
        problems.append(f"{path}:{line}: not valid UTF-8 (byte {raw[error.start]:#04x}); save the file as UTF-8")
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.append(f"{path}:1: the file must start with '---' and YAML front matter")
        return None
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        problems.append(f"{path}:1: the front matter is not closed with a '---' line")
        return None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problems.append(f"{path}:{line}: front matter is not valid YAML ({getattr(error, 'problem', error)})")
        return None
    if not isinstance(meta, dict):
        problems.append(f"{path}:2: front matter must be a mapping of keys to values")
        return None
    return meta, "\n".join(lines[end + 1:]).strip() + "\n", end


def _key_line(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _check_keys(path: Path, meta: dict, keys: dict, problems: list[str]) -> bool:
    ok = True
    for key, kind in keys.items():
        if key not in meta:
            problems.append(f"{path}:1: front matter is missing '{key}'")
            ok = False
        elif not isinstance(meta[key], kind) or (kind is str and not meta[key].strip()):
            problems.append(f"{path}:{_key_line(path, key)}: '{key}' must be a non-empty {kind.__name__}")
            ok = False
        elif kind is list and not all(isinstance(item, str) and item.strip() for item in meta[key]):
            problems.append(f"{path}:{_key_line(path, key)}: every item of '{key}' must be text")
            ok = False
    return ok


def load_content(directory: Path) -> Content:
    """Read and validate every content file. Raises ContentError listing every problem."""
    directory = Path(directory)
    problems: list[str] = []
    pages: dict[str, Page] = {}
    modules: dict[int, ModuleContent] = {}
    if not directory.is_dir():
        raise ContentError([f"{directory}: the content folder does not exist"])

    for slug in PAGES:
        path = directory / f"{slug}.md"
        if not path.exists():
            problems.append(f"{path}: missing (every programme needs {slug}.md)")
            continue
        parsed = _split(path, problems)
        if parsed and _check_keys(path, parsed[0], PAGE_KEYS, problems):
            meta, body, _ = parsed
            pages[slug] = Page(slug, meta["title"], meta["summary"], body, path, meta)
            if slug == "co-consulting":
                _check_steps(path, meta, problems)

    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        path = folder / "index.md"
        if not path.exists():
            problems.append(f"{folder}: a module folder needs an index.md")
            continue
        parsed = _split(path, problems)
        if not parsed or not _check_keys(path, parsed[0], MODULE_KEYS, problems):
            continue
        meta, body, _ = parsed
        number = meta["number"]
        if not 1 <= number <= 5:
            problems.append(f"{path}:{_key_line(path, 'number')}: 'number' must be 1 to 5, not {number}")
            continue
        if number in modules:
            problems.append(f"{path}:{_key_line(path, 'number')}: module {number} is also {modules[number].path}")
            continue
        modules[number] = ModuleContent(
            slug=folder.name, title=meta["title"], summary=meta["summary"], body=body, path=path,
            meta=meta, number=number, topics=tuple(meta["topics"]),
            learning_outcomes=tuple(meta["learning_outcomes"]), prepare=tuple(meta["prepare"]),
        )
    for number in range(1, 6):
        if number not in modules and not any(f"module {number} " in p for p in problems):
            problems.append(f"{directory}: no folder holds module {number}")
    if problems:
        raise ContentError(problems)
    return Content(pages=pages, modules=modules)


def _check_steps(path: Path, meta: dict, problems: list[str]) -> None:
    steps = meta.get("steps")
    line = _key_line(path, "steps")
    if not isinstance(steps, list) or not steps:
        problems.append(f"{path}:{line}: 'steps' must list the process steps")
        return
    for index, step in enumerate(steps, start=1):
        if not (isinstance(step, dict) and isinstance(step.get("title"), str)
                and isinstance(step.get("minutes"), int) and step["minutes"] > 0
                and isinstance(step.get("description"), str)):
            problems.append(f"{path}:{line}: step {index} needs a title, whole positive minutes and a description")
        elif set(step) - {"title", "minutes", "description"}:
            unknown = ", ".join(sorted(set(step) - {"title", "minutes", "description"}))
            problems.append(f"{path}:{line}: step {index} has unknown keys: {unknown}")
