"""The house's rules that a machine can check: short functions, the core apart from the
application, and no import cycle in the pad."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
APPLICATION = ("tinycnn.digits",)


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """The absolute names of the modules `path` imports (relative imports resolved)."""
    tree, here = ast.parse(path.read_text()), module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            yield name
            yield from (f"{name}.{a.name}" for a in node.names)


@pytest.mark.parametrize("folder", ["tinycnn", "pad"])
def test_no_function_over_80_lines(folder):
    long = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_the_core_imports_nothing_of_the_application():
    core = [p for p in (ROOT / "tinycnn").rglob("*.py")
            if "digits" not in p.relative_to(ROOT / "tinycnn").parts and p != ROOT / "tinycnn" / "__init__.py"]
    assert len(core) > 10
    found = [f"{p.relative_to(ROOT)} imports {name}" for p in core for name in imports(p)
             if name.startswith(APPLICATION)]
    assert found == []


def test_no_import_cycle_in_the_pad():
    modules = {module_name(p): p for p in (ROOT / "pad").glob("*.py")}
    graph = {m: {n for n in imports(p) if n in modules and n != m} for m, p in modules.items()}
    seen, cycles = {}, []

    def visit(m, path):
        if seen.get(m) == "open":
            cycles.append(" -> ".join(path[path.index(m):] + [m]))
            return
        if seen.get(m) == "done":
            return
        seen[m] = "open"
        for n in sorted(graph[m]):
            visit(n, path + [m])
        seen[m] = "done"

    for m in sorted(graph):
        visit(m, [])
    assert cycles == []
