"""The programme's content: the real files load, Markdown is safe, broken files are reported well."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import app.content as content_module
from app.content import ALLOWED_TAGS, PAGES, ContentError, load_content, render_markdown

REAL_CONTENT = Path(__file__).resolve().parent.parent / "modules_content"


@pytest.fixture(scope="module")
def real():
    return load_content(REAL_CONTENT)


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of the real content folder to break."""
    return Path(shutil.copytree(REAL_CONTENT, tmp_path / "modules_content"))


def module_file(folder: Path, number: int) -> Path:
    (path,) = folder.glob(f"module-{number}-*/index.md")
    return path


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of a file that starts with `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.startswith(text))


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_content(folder)
    return raised.value.problems


# --- the real content ---------------------------------------------------------------------------


def test_the_real_content_has_five_numbered_modules_with_everything_a_module_page_needs(real):
    assert sorted(real.modules) == [1, 2, 3, 4, 5]
    folders = sorted(p.name for p in REAL_CONTENT.iterdir() if p.is_dir())
    assert sorted(m.slug for m in real.modules.values()) == folders
    for number, module in real.modules.items():
        assert module.number == number
        assert module.slug.startswith(f"module-{number}-")
        assert module.path == REAL_CONTENT / module.slug / "index.md"
        assert module.title.strip() and module.summary.strip()
        assert module.topics and all(topic.strip() for topic in module.topics)
        assert module.learning_outcomes and all(outcome.strip() for outcome in module.learning_outcomes)
        assert module.prepare and all(item.strip() for item in module.prepare)
        assert not module.body.lstrip().startswith("---"), "front matter leaked into the body"
        assert real.module_by_slug(module.slug) is module
    assert real.module(3).title == "Designing with others"
    assert "Experience-based co-design" in real.module(3).topics
    assert real.module_by_slug("no-such-module") is None


def test_the_real_content_has_the_four_pages(real):
    assert set(real.pages) == {"programme", "welcome", "co-consulting", "celebration"} == set(PAGES)
    for slug, page in real.pages.items():
        assert page.path == REAL_CONTENT / f"{slug}.md"
        assert page.title.strip() and page.summary.strip() and page.body.strip()
    assert real.pages["programme"].title == "Communities of Practice Leadership Programme"


def test_the_co_consulting_process_fills_exactly_the_hour(real):
    steps = real.co_consulting_steps
    assert len(steps) >= 3
    assert sum(step.minutes for step in steps) == 60
    assert all(step.minutes > 0 and step.title.strip() and step.description.strip() for step in steps)
    assert steps[0].title == "Check-in and roles"


def test_a_module_page_renders_its_markdown_body(real):
    html = str(real.module(3).html)
    assert "<h2>Day 1</h2>" in html and "<h2>Day 2</h2>" in html
    assert "<em>facilitating breakthrough</em>" in html
    assert "<li>" in html


# --- render_markdown ----------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(str(html))
    parser.close()
    return parser.elements


def assert_harmless(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, f"<{tag}> got through: {html}"
        assert not any(name.startswith("on") for name in attrs), f"event handler got through: {html}"
        for name in ("href", "src"):
            value = re.sub(r"\s", "", attrs.get(name) or "").lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), f"{name}={value} got through"


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "Before <script src='https://evil.example/x.js'></script> after",
    "<img src=x onerror=alert(1)>",
    'Some <b onclick="steal()">bold</b> text',
    "<iframe src='https://evil.example'></iframe>",
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    "[click me](&#106;avascript:alert(1))",
    "[click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![picture](javascript:alert(1))",
    '<a href="javascript:alert(1)">raw link</a>',
])
def test_render_markdown_never_lets_scripts_handlers_or_javascript_links_through(text):
    html = render_markdown(text)
    assert_harmless(html)
    # Raw HTML is never markup: at most it shows as text.
    assert {tag for tag, _ in elements(html)} <= {"p"}


def test_raw_html_is_shown_as_text_not_obeyed():
    html = str(render_markdown("Hello <b>world</b> <script>alert(1)</script>"))
    assert elements(html) == [("p", {})]
    assert "&lt;script&gt;" in html and "<script" not in html


def test_the_sanitiser_still_cleans_html_if_markdown_ever_lets_it_through(monkeypatch):
    monkeypatch.setattr(content_module, "_markdown", MarkdownIt("commonmark", {"html": True}))
    html = render_markdown(
        '<script>alert(1)</script>\n\n'
        '<p onclick="steal()">Hi <img src=x onerror=alert(1)> '
        '<a href="javascript:alert(1)">bad</a> <a href="https://example.org" onmouseover="x()">good</a></p>'
    )
    assert_harmless(html)
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert ("a", {"href": "https://example.org", "rel": "noopener noreferrer"}) in elements(html)
    assert "good" in html and "Hi" in html


def test_ordinary_markdown_keeps_its_formatting_and_safe_links():
    html = render_markdown(
        "## Before the module\n\n"
        "Read **this** and *that*: [the guide](https://example.org/guide \"Guide\") "
        "or [email us](mailto:team@example.org).\n\n"
        "- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    found = elements(html)
    tags = [tag for tag, _ in found]
    for tag in ("h2", "strong", "em", "ul", "li", "table", "th", "td"):
        assert tag in tags, f"<{tag}> missing from {html}"
    links = [attrs for tag, attrs in found if tag == "a"]
    assert {"href": "https://example.org/guide", "title": "Guide", "rel": "noopener noreferrer"} in links
    assert {"href": "mailto:team@example.org", "rel": "noopener noreferrer"} in links


# --- broken content is reported with file and line ----------------------------------------------


def test_invalid_yaml_in_a_module_is_reported_at_its_file_and_line(content_copy):
    path = module_file(content_copy, 3)
    broken_at = line_of(path, "  - Involving patients")
    replace_line(path, broken_at, "  - Involving patients: carers: and staff")

    problems = problems_of(content_copy)

    yaml_problems = [p for p in problems if "not valid YAML" in p]
    assert yaml_problems == [p for p in problems if str(path) in p]
    assert len(yaml_problems) == 1
    assert yaml_problems[0].startswith(f"{path}:{broken_at}:")
    assert f"index.md:{broken_at}:" in yaml_problems[0]
    # The other modules and pages are fine, so they are not blamed.
    assert not any(str(module_file(content_copy, n)) in p for p in problems for n in (1, 2, 4, 5))


def test_a_missing_topics_key_is_reported(content_copy):
    path = module_file(content_copy, 2)
    lines = path.read_text(encoding="utf-8").splitlines()
    start = line_of(path, "topics:") - 1
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")

    problems = problems_of(content_copy)

    assert f"{path}:1: front matter is missing 'topics'" in problems
    assert not any("'title'" in p or "'learning_outcomes'" in p for p in problems)


def test_a_wrongly_typed_key_is_reported_at_its_line(content_copy):
    path = module_file(content_copy, 4)
    prepare_at = line_of(path, "prepare:")
    lines = path.read_text(encoding="utf-8").splitlines()
    # Its list items go too, so the YAML stays valid and only the type is wrong.
    items_end = next(i for i in range(prepare_at, len(lines)) if not lines[i].startswith("  - "))
    lines[prepare_at - 1:items_end] = ["prepare: read the handbook"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    problems = problems_of(content_copy)

    assert any(p.startswith(f"{path}:{prepare_at}:") and "'prepare'" in p for p in problems), problems


def test_a_duplicate_module_number_names_both_files(content_copy):
    duplicate = module_file(content_copy, 4)
    number_at = line_of(duplicate, "number:")
    replace_line(duplicate, number_at, "number: 3")

    problems = problems_of(content_copy)

    clash = [p for p in problems if p.startswith(f"{duplicate}:{number_at}:")]
    assert len(clash) == 1
    assert "module 3" in clash[0] and str(module_file(content_copy, 3)) in clash[0]
    assert any("no folder holds module 4" in p for p in problems)


def test_a_module_numbered_outside_one_to_five_is_reported(content_copy):
    path = module_file(content_copy, 5)
    number_at = line_of(path, "number:")
    replace_line(path, number_at, "number: 6")

    problems = problems_of(content_copy)

    assert any(p.startswith(f"{path}:{number_at}:") and "1 to 5" in p for p in problems), problems


def test_a_missing_page_is_reported(content_copy):
    (content_copy / "programme.md").unlink()

    problems = problems_of(content_copy)

    assert len(problems) == 1
    assert str(content_copy / "programme.md") in problems[0]
    assert "missing" in problems[0]


def test_a_file_without_front_matter_is_reported(content_copy):
    path = content_copy / "welcome.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("---", 2)[2].lstrip(), encoding="utf-8")

    assert problems_of(content_copy) == [f"{path}:1: the file must start with '---' and YAML front matter"]


def test_a_co_consulting_step_without_minutes_is_reported(content_copy):
    path = content_copy / "co-consulting.md"
    minutes_at = line_of(path, "    minutes: 10")
    replace_line(path, minutes_at, "    minutes: ten")

    problems = problems_of(content_copy)

    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:{line_of(path, 'steps:')}:")
    assert "step 2" in problems[0]


def test_every_problem_is_reported_at_once(content_copy):
    (content_copy / "celebration.md").unlink()
    path = module_file(content_copy, 1)
    replace_line(path, line_of(path, "number:"), "number: [1")

    problems = problems_of(content_copy)

    assert any("celebration.md" in p for p in problems)
    assert any(p.startswith(f"{path}:") and "not valid YAML" in p for p in problems)


def test_a_copy_of_the_real_content_loads_the_same(content_copy, real):
    copied = load_content(content_copy)
    assert {n: m.title for n, m in copied.modules.items()} == {n: m.title for n, m in real.modules.items()}


# --- flask content check ------------------------------------------------------------------------


def test_flask_content_check_passes_on_the_real_content(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "CONTENT_DIR", REAL_CONTENT)

    result = runner.invoke(args=["content", "check"])

    assert result.exit_code == 0, result.output
    assert "Content is valid: 5 modules, 4 pages." in result.output


def test_flask_content_check_fails_with_file_and_line_on_broken_content(app, runner, monkeypatch, content_copy):
    path = module_file(content_copy, 3)
    broken_at = line_of(path, "  - Involving patients")
    replace_line(path, broken_at, "  - Involving patients: carers: and staff")
    monkeypatch.setitem(app.config, "CONTENT_DIR", content_copy)

    result = runner.invoke(args=["content", "check"])

    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception), "it should exit cleanly, not crash"
    assert f"{path}:{broken_at}: front matter is not valid YAML" in result.stderr
    assert "Content is valid" not in result.output


def test_a_co_consulting_step_with_an_unknown_key_is_reported(content_copy):
    path = content_copy / "co-consulting.md"
    text = path.read_text()
    path.write_text(text.replace("    minutes: 5\n", "    minutes: 5\n    note: extra\n", 1))
    with pytest.raises(ContentError) as raised:
        load_content(content_copy)
    assert any("unknown keys: note" in p for p in raised.value.problems)
