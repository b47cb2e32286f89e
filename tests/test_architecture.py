"""The domain stays free of the transport: nothing under digests/ imports discord, bot or prometheus_client."""

import ast
from pathlib import Path

import digests

DIGESTS = Path(digests.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_digests_never_imports_discord_bot_or_prometheus():
    transport = {"discord", "bot", "prometheus_client"}
    offenders = {
        str(path.relative_to(DIGESTS)): sorted(m for m in imported_modules(path) if m.split(".")[0] in transport)
        for path in DIGESTS.rglob("*.py")
    }
    offenders = {path: modules for path, modules in offenders.items() if modules}
    assert offenders == {}
    assert len(list(DIGESTS.rglob("*.py"))) > 10  # the walk really saw the package
