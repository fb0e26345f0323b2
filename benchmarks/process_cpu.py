"""CPU time (user+sys) of the processes of a running `mentoring dev`, by role, from /proc."""

import os
from pathlib import Path

ROLES = (
    ("mentoring.cli api", "api"),
    ("mentoring.cli worker", "worker"),
    ("mentoring.cli sandbox", "emulator"),
    ("temporal server", "temporal"),
    ("postgres", "postgres"),
)


TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds: user+sys and of its reaped children)."""
    found: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # after the command: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17)
        ticks = sum(int(value) for value in fields[11:15])
        found[int(entry.name)] = (int(fields[1]), cmdline, ticks / TICKS)
    return found


def cpu_sample(api_port: int) -> dict[str, float]:
    """CPU seconds of each role under the `mentoring dev` whose API listens on `api_port`.

    Reaped children count in their parent's cutime/cstime, so Postgres backends that ended
    between two samples are still counted (in the postmaster)."""
    processes = _processes()
    totals: dict[str, float] = {}
    for pid, role in _roles(processes, api_port).items():
        totals[role] = totals.get(role, 0.0) + processes[pid][2]
    return totals


def _roles(processes: dict[int, tuple[int, str, float]], api_port: int) -> dict[int, str]:
    """pid -> role, for the processes under the `mentoring dev` whose API listens on the port."""
    root = next(
        (
            parent
            for parent, cmdline, _ in processes.values()
            if "mentoring.cli api" in cmdline and f"--port {api_port}" in cmdline
        ),
        None,
    )
    if root is None:
        return {}
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    roles: dict[int, str] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        cmdline = processes[pid][1]
        for needle, role in ROLES:
            if needle in cmdline:
                roles[pid] = role
                break
    return roles


def memory_sample(api_port: int) -> dict[str, float]:
    """Resident memory (MiB) of each role under the `mentoring dev` whose API listens on
    `api_port`; Postgres's backends share its buffers, so its figure counts them more than once."""
    processes = _processes()
    totals: dict[str, float] = {}
    for pid, role in _roles(processes, api_port).items():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
        totals[role] = totals.get(role, 0.0) + int(rss[0] if rss else 0) / 1024
    return totals
