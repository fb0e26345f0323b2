"""Which part may import which: the shared package `mentoring` imports none of the services nor
the dev runner (they import it), and no service imports the dev runner."""

import ast
from pathlib import Path

from tests.support import modules_loaded_by

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("api", "workflows", "activities", "emulator", "worker")
DEV_RUNNER = "devstack"


def _imported_roots(path: Path) -> set[str]:
    """The top-level modules a file imports, anywhere in it (in functions too)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _files(*roots: str) -> list[Path]:
    found = []
    for root in roots:
        path = REPO_ROOT / root
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return found


def test_the_shared_package_imports_no_service_and_not_the_dev_runner() -> None:
    forbidden = {*SERVICES, DEV_RUNNER}
    files = _files("mentoring")
    assert len(files) > 5
    wrong = {
        str(path.relative_to(REPO_ROOT)): sorted(_imported_roots(path) & forbidden)
        for path in files
        if _imported_roots(path) & forbidden
    }
    assert wrong == {}, f"mentoring/ imports {wrong}"


def test_no_service_imports_the_dev_runner() -> None:
    wrong = [
        str(path.relative_to(REPO_ROOT))
        for path in _files(*SERVICES)
        if DEV_RUNNER in _imported_roots(path)
    ]
    assert wrong == [], f"{wrong} import the dev runner"


def test_loading_every_shared_module_loads_no_service() -> None:
    """The same at run time, imports by name included: `mentoring.cli` names the modules of
    its commands as strings, imported only when that command runs."""
    modules = [f"mentoring.{path.stem}" for path in _files("mentoring") if path.stem != "__init__"]
    loaded = modules_loaded_by(modules, (*SERVICES, DEV_RUNNER))
    assert loaded == [], f"importing mentoring/ loaded {loaded}"
