"""Every test that runs a real crawl, a newscrawl or scrapy process, or serves a mirror is marked e2e.

So ``pytest -m "not e2e"`` is the fast inner loop and misses nothing else. The check reads
each test module's source: a test is end to end when it, or a module-level fixture or helper
it uses, calls :func:`tests.conftest.run_crawl`, builds a :class:`tests.support.mirror.Mirror`
or a ``newscrawl crawl`` command line, takes a ``*_mirror`` fixture, or starts a subprocess
whose command names ``newscrawl``, ``scrapy`` or the mirror server ``tests.support.mirror``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: Names whose use makes a test end to end.
E2E_NAMES = frozenset({"run_crawl", "Mirror", "newscrawl_crawl", "throughput_mirror"})
#: A subprocess running one of these programs (or the mirror server's module) is end to end.
PROGRAMS = frozenset({"newscrawl", "scrapy", "tests.support.mirror"})

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _names(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, ast.arg):
            found.add(child.arg)
    return found


def _runs_a_program(node: ast.AST) -> bool:
    """A subprocess call in ``node`` and a command naming a program: ``[.., "newscrawl", ..]``."""
    if not _names(node) & {"subprocess", "Popen", "create_subprocess_exec"}:
        return False
    for child in ast.walk(node):
        if isinstance(child, ast.List | ast.Tuple):
            values = child.elts
        elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "with_name":
            values = child.args
        else:
            continue
        if any(isinstance(v, ast.Constant) and v.value in PROGRAMS for v in values):
            return True
    return False


def _direct(node: Function) -> bool:
    names = _names(node)
    return bool(names & E2E_NAMES) or any(n.endswith("_mirror") for n in names) or _runs_a_program(node)


def _is_e2e_mark(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr == "e2e"


def _module_marked(tree: ast.Module) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            values = stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
            if any(_is_e2e_mark(v) for v in values):
                return True
    return False


def unmarked_e2e_tests(source: str) -> list[str]:
    """Names of the module's end-to-end tests that carry no e2e mark."""
    tree = ast.parse(source)
    if _module_marked(tree):
        return []
    functions: dict[str, Function] = {}
    for stmt in tree.body:
        if isinstance(stmt, Function):
            functions[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            functions.update({f"{stmt.name}.{f.name}": f for f in stmt.body if isinstance(f, Function)})
    e2e = {name for name, node in functions.items() if _direct(node)}
    changed = True
    while changed:  # a fixture or helper using an end-to-end one is end to end too
        grown = {name for name, node in functions.items() if _names(node) & e2e}
        changed = not grown <= e2e
        e2e |= grown
    return sorted(
        name
        for name in e2e
        if name.rsplit(".", 1)[-1].startswith("test")
        and not any(_is_e2e_mark(d) for d in functions[name].decorator_list)
    )


@pytest.mark.parametrize("module", sorted(p.name for p in TESTS.glob("test_*.py")))
def test_end_to_end_tests_are_marked(module: str) -> None:
    assert unmarked_e2e_tests((TESTS / module).read_text("utf-8")) == []


@pytest.mark.parametrize(
    ("source", "unmarked"),
    [
        ("def test_a(japantoday_mirror): pass", ["test_a"]),
        ("def crawl(): run_crawl('x')\ndef test_a(): crawl()\ndef test_b(): pass", ["test_a"]),
        ("@pytest.fixture\ndef seeded(tmp_path): run_crawl()\ndef test_a(seeded): pass", ["test_a"]),
        ("import subprocess\ndef test_a(): subprocess.run(['newscrawl', 'list'])", ["test_a"]),
        ("import subprocess\ndef test_a(): subprocess.run(['ls'])", []),
        ("import subprocess\ndef test_a(d): (d / 'newscrawl').touch(); subprocess.run(['sh'])", []),
        ("import subprocess\ndef test_a(p): subprocess.run([p.with_name('scrapy'), 'list'])", ["test_a"]),
        ("import subprocess\ndef test_a(): subprocess.Popen(['py', '-m', 'tests.support.mirror'])", ["test_a"]),
        ("@pytest.mark.e2e\ndef test_a(japantoday_mirror): pass", []),
        ("pytestmark = [pytest.mark.e2e]\ndef test_a(japantoday_mirror): pass", []),
        ("class TestX:\n    def test_a(self): Mirror('x')", ["TestX.test_a"]),
    ],
)
def test_the_check_finds_unmarked_tests(source: str, unmarked: list[str]) -> None:
    assert unmarked_e2e_tests(source) == unmarked
