"""The floor plan of shared/ holds: imports flow one way (docs/architecture.md).

functions → wiring → use cases → rules → model, and adapters → model. A module
may import its own layer and the layers its rule names, nothing else; imports
under TYPE_CHECKING count too, since a type is a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BASE = ("shared.config", "shared.observability", "shared.http")
MODEL = ("shared.model",)
INGEST_PRIMITIVES = (
    "shared.ingest.request",
    "shared.ingest.errors",
    "shared.ingest.signatures",
    "shared.ingest.message",
)
LINKING_RULES = (
    "shared.linking.rules",
    "shared.linking.calls",
    "shared.linking.claims",
    "shared.linking.suggestions",
    "shared.linking.merge_plan",
    "shared.linking.decision",
    "shared.linking.timeline",
    "shared.linking.ports",
)
LINKING_USE_CASES = ("shared.linking.processor", "shared.linking.linker", "shared.linking.merging")

# Module prefix → what it may import from our own packages. The longest matching prefix applies.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "shared.model": MODEL,
    "shared.config": (),
    "shared.observability": (),
    "shared.http": (),
    "shared.adapters": ("shared.adapters", *MODEL, *BASE),
    **dict.fromkeys(INGEST_PRIMITIVES, (*INGEST_PRIMITIVES, *MODEL, *BASE)),
    "shared.channels": ("shared.channels", *INGEST_PRIMITIVES, *MODEL, *BASE),
    "shared.linking": (*LINKING_RULES, *MODEL, *BASE),
    **dict.fromkeys(LINKING_RULES, (*LINKING_RULES, *MODEL, *BASE)),
    **dict.fromkeys(LINKING_USE_CASES, ("shared.linking", *MODEL, *BASE)),
    "shared.events": ("shared.events", *MODEL, *BASE),
    "shared.api": ("shared.api", "shared.linking", *MODEL, *BASE),
    "shared.ingest": ("shared.ingest", "shared.channels", *MODEL, *BASE),
    "shared.polling": ("shared.polling", "shared.ingest", "shared.channels", *MODEL, *BASE),
    "shared.replies": ("shared.replies", *MODEL, *BASE),
    "shared.wiring": ("shared",),
    "functions": ("functions", "shared"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_imports(path: Path) -> set[str]:
    """Every module of ours `path` imports, at any depth (functions import lazily on purpose)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("shared", "functions", "infra", "tools", "tests")}


def rule_for(module: str) -> tuple[str, tuple[str, ...]]:
    matches = [prefix for prefix in MAY_IMPORT if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} has no place in the floor plan: add it to MAY_IMPORT and docs/architecture.md"
    prefix = max(matches, key=len)
    return prefix, MAY_IMPORT[prefix]


def allowed(imported: str, may: tuple[str, ...]) -> bool:
    # `from shared.model import minted` names the module shared.model.minted: both spellings match a prefix.
    return any(imported == prefix or imported.startswith(prefix + ".") for prefix in may)


MODULES = sorted(
    path
    for folder in ("shared", "functions")
    for path in (ROOT / folder).rglob("*.py")
    if "__pycache__" not in path.parts
)


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_flow_one_way(path: Path) -> None:
    module = module_name(path)
    prefix, may = rule_for(module)
    backwards = sorted(name for name in our_imports(path) if not allowed(name, may))
    assert backwards == [], f"{module} ({prefix}) may import only {', '.join(may) or 'nothing of ours'}"


def test_the_rule_catches_a_backward_import() -> None:
    # The rule itself could fail open (a prefix typo allows everything): show it refusing one.
    _, may = rule_for("shared.linking.rules")
    assert not allowed("shared.adapters.dynamo.contacts", may)
    assert not allowed("shared.linking.processor", may)
    assert allowed("shared.model.contact", may)
    _, adapter_may = rule_for("shared.adapters.sqs")
    assert not allowed("shared.ingest.message", adapter_may)
