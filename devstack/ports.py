"""Whether a port the runner needs is free, and if not, which process holds it."""

import contextlib
import errno
import os
import socket
from pathlib import Path

_LISTEN = "0A"


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on (host, port) now; SO_REUSEADDR as uvicorn and the other
    servers bind, so a closed connection's TIME_WAIT does not count."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def describe_process(pid: int) -> str:
    """`pid 123 (its command line)`, shortened."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    if len(command) > 80:
        command = command[:77] + "..."
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def holder_of(port: int) -> int | None:
    """The pid of the process listening on `port`, when /proc tells (Linux, a process this user
    may look into); None otherwise."""
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in sockets:
                        return int(proc.name)
    return None


def busy_port_message(port: int, what: str) -> str:
    """One line: the port, what it is for, and who holds it when known."""
    pid = holder_of(port)
    by = f"by {describe_process(pid)}" if pid is not None else "by another process"
    return f"port {port} ({what}) is already in use {by}"
