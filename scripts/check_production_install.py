"""Check that the Python environment running this is a production install: exactly the packages
pinned in requirements.lock, at their pinned versions, plus the project itself (and pip's own
tools), and none of the `dev` extra. The image runs it at build time (Dockerfile).

    python scripts/check_production_install.py [--lock LOCK] [--pyproject PYPROJECT]

Exit status 0 if so; otherwise 1, with one line per problem on stderr.
"""

import argparse
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

PROJECT = "mentoring-orders"
# Installed with Python itself or by pip's build of the project, never imported by the service.
INSTALLER_TOOLS = frozenset({"pip", "setuptools", "wheel"})
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    """The lock's pins: normalized name -> version."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalized(match[1])] = match[2]
    return pins


def dev_extra(pyproject: Path) -> set[str]:
    """The names of the `dev` extra's packages."""
    project = tomllib.loads(pyproject.read_text())["project"]
    names = set()
    for requirement in project["optional-dependencies"]["dev"]:
        match = _NAME.match(requirement)
        if match:
            names.add(normalized(match[0]))
    return names


def problems(lock: Path, pyproject: Path) -> list[str]:
    pins = locked(lock)
    installed = {
        normalized(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
    }
    found = []
    for name, version in sorted(pins.items()):
        if name not in installed:
            found.append(f"{name}=={version} is locked but not installed")
        elif installed[name] != version:
            found.append(f"{name} is {installed[name]}, the lock says {version}")
    allowed = set(pins) | INSTALLER_TOOLS | {PROJECT}
    for name in sorted(set(installed) - allowed):
        found.append(f"{name} {installed[name]} is installed but not in the lock")
    dev = sorted(dev_extra(pyproject) & set(installed))
    if dev:
        found.append(f"dev tools are installed: {', '.join(dev)}")
    if PROJECT not in installed:
        found.append(f"{PROJECT} itself is not installed")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    found = problems(args.lock, args.pyproject)
    for problem in found:
        print(f"not a production install: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
