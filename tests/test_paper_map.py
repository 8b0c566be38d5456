"""docs/PAPER_MAP.md cannot rot: every `path.py:name` it names is a file of the repository that
defines `name` at its top level (or `Class.method`: a method defined in that class's body), and
every file it names exists."""
import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_MAP = os.path.join(ROOT, "docs", "PAPER_MAP.md")
# A code reference inside backticks: `dir/file.py` or `dir/file.py:name` or `...:Class.method`.
REFERENCE = re.compile(r"`([\w./-]+\.py)(?::([A-Za-z_][\w.]*))?`")


def references(markdown: str) -> list[tuple[str, str | None]]:
    """(path, name or None) of every code reference in `markdown`, in order."""
    return [(path, name or None) for path, name in REFERENCE.findall(markdown)]


def top_level_definitions(tree: ast.Module) -> dict[str, ast.AST]:
    """Name -> node of the functions and classes a module defines at its top level."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name: node for node in tree.body if isinstance(node, kinds)}


def defines(path: str, name: str) -> bool:
    """Whether the Python file `path` defines `name` ("function", "Class" or "Class.method")."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    outer, _, member = name.partition(".")
    node = top_level_definitions(tree).get(outer)
    if node is None or not member:
        return node is not None
    if not isinstance(node, ast.ClassDef) or "." in member:
        return False
    return any(isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == member
               for child in node.body)


def problems(markdown: str, root: str) -> list[str]:
    """One line per reference of `markdown` that does not resolve under `root`."""
    found = []
    for path, name in references(markdown):
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            found.append(f"{path}: no such file")
        elif name and not defines(full, name):
            found.append(f"{path}:{name}: not defined there")
    return found


def test_every_reference_of_the_paper_map_resolves():
    with open(PAPER_MAP, encoding="utf-8") as f:
        markdown = f.read()
    assert len(references(markdown)) > 50   # the map was read, not an empty match
    assert problems(markdown, ROOT) == []


def test_every_equation_has_a_row():
    with open(PAPER_MAP, encoding="utf-8") as f:
        rows = re.findall(r"^\| (\d+(?: / \d+)?) \|", f.read(), flags=re.MULTILINE)
    numbered = {int(n) for row in rows for n in row.split(" / ")}
    assert numbered == set(range(1, 11))


@pytest.mark.parametrize("markdown, expected", [
    ("`storyvis_tf/losses/gan.py:no_such_loss`",
     ["storyvis_tf/losses/gan.py:no_such_loss: not defined there"]),
    ("`storyvis_tf/training/story_gan.py:StoryGAN.no_such_step`",
     ["storyvis_tf/training/story_gan.py:StoryGAN.no_such_step: not defined there"]),
    ("`configs/ablations/no_such_row.py`", ["configs/ablations/no_such_row.py: no such file"]),
    ("`storyvis_tf/losses/gan.py:kl_loss`, `storyvis_tf/training/story_gan.py:StoryGAN.train_step`,"
     " `configs/paper.py`", []),
])
def test_a_broken_reference_is_named(markdown, expected):
    assert problems(markdown, ROOT) == expected
