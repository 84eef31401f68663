"""Every document, file and module the repository's text points at is in the repository.

A newcomer must not need anything from outside the clone: these tests read every tracked text
file (code, notebooks' cell sources, Markdown, shell, Makefile, TOML) and check

- that no text refers to documents this project does not carry;
- that every path into the repository (`docs/protocol.md#pitfalls`, `reacher/sim.py`,
  `python -m benchmarks.env_speed`, Markdown links) names a file that exists, and every
  `#anchor` into a Markdown file names one of its headings;
- that no text cites a ticket by number: the text says what the code guarantees.
"""

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".sh", ".toml"}
TEXT_NAMES = {"Makefile"}

# Documents that lived outside the repository while it was being built, and phrases that
# pointed at them. The facts now live in docs/.
FOREIGN = re.compile(
    r"\b(?:SPEC|PROTOCOL|PERFORMANCE)(?:\.md|\s*§)"
    r"|shared/"
    r"|(?i:\bthe specification\b|\bthe report this project started from\b|\bthe prototype\b"
    r"|\bseed report\b)"
)
# A path-like word with a suffix of something a reader would open, with an optional #anchor.
PATH = re.compile(
    r"(?<![\w/.~-])((?:[\w.-]+/)*[\w.-]+\.(?:py|md|ipynb|sh|toml|txt|csv|json|pth|x86_64))"
    r"(#[\w-]+)?(?![\w/])"
)
# A ticket cited by its number; an outside thread is cited by its address instead.
ISSUE_NUMBER = re.compile(r"\bissues? #?\d+", re.IGNORECASE)
ISSUE_SCANNED = {".py", ".md", ".ipynb"}, {"Makefile", "setup.sh"}  # suffixes, names
MODULE = re.compile(r"(?:python|PY\))\s+-m\s+([A-Za-z_][\w.]*)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


@cache
def tracked_files() -> tuple[Path, ...]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell tracked files from generated ones")
    return tuple(REPO / name for name in listing.split("\0") if name)


def text_files() -> list[Path]:
    """Tracked text files, except this one: it has to name what it looks for."""
    return [
        path
        for path in tracked_files()
        if (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES)
        and path.is_file()
        and path != Path(__file__).resolve()
    ]


def text_of(path: Path, markdown_only: bool = False) -> str:
    """The file's text; for a notebook, its cells' sources only (outputs are generated)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        kinds = ("markdown",) if markdown_only else ("markdown", "code", "raw")
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] in kinds)
    return path.read_text()


def heading_anchors(markdown: str) -> set[str]:
    """Anchors of the headings, as GitHub makes them (lower case, punctuation dropped, spaces
    to '-') and as Jupyter does (the title as it is, spaces to '-')."""
    anchors = set()
    for line in markdown.splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            title = match.group(1).strip()
            anchors.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
            anchors.add(title.replace(" ", "-"))
    return anchors


def broken_target(target: str, base: Path) -> str | None:
    """Why `target` (a path, maybe with #anchor, relative to `base`) is broken, or None."""
    path_text, _, anchor = target.partition("#")
    path = (base / path_text).resolve()
    if not path.exists():
        return "no such file"
    headings = text_of(path, markdown_only=True) if path.suffix in (".md", ".ipynb") else None
    if anchor and headings is not None and anchor not in heading_anchors(headings):
        return f"no heading for #{anchor}"
    return None


def problems_in(path: Path) -> list[str]:
    text = text_of(path)
    top_level = {p.relative_to(REPO).parts[0] for p in tracked_files()}
    found = [f"refers to {m.group(0)!r}" for m in FOREIGN.finditer(text)]
    for match in PATH.finditer(text):
        # Only paths into this repository: their first component is one of its entries.
        # (Outputs a run creates, such as results/arms.gif, have other suffixes.)
        if match.group(1).split("/")[0] in top_level:
            why = broken_target(match.group(1) + (match.group(2) or ""), REPO)
            if why:
                found.append(f"{match.group(0)}: {why}")
    for module in MODULE.findall(text):
        parts = module.rstrip(".").split(".")
        if parts[0] in top_level and not (
            REPO.joinpath(*parts).with_suffix(".py").exists() or REPO.joinpath(*parts).is_dir()
        ):
            found.append(f"-m {module}: no such module in the repository")
    if path.suffix in (".md", ".ipynb"):
        for target in MARKDOWN_LINK.findall(text_of(path, markdown_only=True)):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            # Relative to the file; a bare #anchor points into the file itself.
            why = broken_target(
                path.name + target if target.startswith("#") else target, path.parent
            )
            if why:
                found.append(f"link ({target}): {why}")
    return found


def test_every_reference_points_into_the_repository():
    problems = [
        f"{path.relative_to(REPO)}: {problem}"
        for path in text_files()
        for problem in problems_in(path)
    ]
    assert not problems, "broken or foreign references:\n" + "\n".join(problems)


def test_the_checks_catch_what_they_look_for():
    """The patterns above really fire: a foreign document, a missing file, a missing anchor."""
    assert FOREIGN.search("see SPEC.md") and FOREIGN.search("(PERFORMANCE §7)")
    assert FOREIGN.search("follows shared/reacher/SPEC.md")
    assert not FOREIGN.search("one shared replay buffer; see docs/protocol.md")
    assert broken_target("docs/no_such_page.md", REPO) == "no such file"
    assert broken_target("docs/protocol.md#pitfalls", REPO) is None
    assert (
        broken_target("docs/protocol.md#no-such-heading", REPO) == "no heading for #no-such-heading"
    )
    anchors = heading_anchors("## Unity's random numbers\n# The `unityagents` 0.4 client")
    assert {"unitys-random-numbers", "the-unityagents-04-client"} <= anchors
    assert [m.group(1) for m in PATH.finditer("open `docs/a.md#x`, /tmp/b.py, c.csv.")] == [
        "docs/a.md",
        "c.csv",
    ]
    assert MODULE.findall("$(PY) -m benchmarks.env_speed; python -m pytest") == [
        "benchmarks.env_speed",
        "pytest",
    ]


def test_no_issue_numbers_in_the_repository():
    """Code, docs and notebooks (outputs included) say what holds, not which ticket asked."""
    n = 11  # not written out, so that a plain grep for the pattern finds no file
    assert ISSUE_NUMBER.search(f"(Issue {n}, case 5)") and ISSUE_NUMBER.search(f"issues #{n}")
    assert not ISSUE_NUMBER.search(f"see github.com/o/r/issues/{n}; tissue {n}")
    suffixes, names = ISSUE_SCANNED
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}"
        for path in tracked_files()
        if (path.suffix in suffixes or path.name in names)
        and path.relative_to(REPO).parts[0] != "results"
        and path.is_file()
        and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ISSUE_NUMBER.search(line)
    ]
    assert not found, "issue numbers (say what the code guarantees instead):\n" + "\n".join(found)
