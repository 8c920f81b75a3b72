"""Run one generated program inside the sandbox (executed as a script by :mod:`sandbox`).

``python -I _guard.py LIMITS_JSON PROGRAM`` : leave the network (a new network namespace, where
the kernel allows it), set the resource limits, disable destructive calls, then run PROGRAM as
``__main__``. Exit 0 only when the program ran to its end; 1 when it raised (``SystemExit``
included: a program that exits early has not passed its tests); 3 when the limits could not be set.
This file must only use the standard library.
"""
import builtins
import json
import os
import sys
import traceback

LIMITS_FAILED = 3


def leave_network():
    """A fresh network namespace (no interface but a down loopback): 'netns', else 'guard'."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) == 0:  # CLONE_NEWNET
            return "netns"
    except Exception:
        pass
    return "guard"


def set_limits(limits):
    import resource

    mem = int(limits["memory_mb"]) * 1024 * 1024
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["nproc"]),) * 2)
    fsize = int(limits["fsize_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _disabled(name):
    def blocked(*args, **kwargs):
        raise PermissionError(f"{name} is disabled in the sandbox")
    return blocked


def guard(workdir):
    """Disable what could hurt the machine: process creation, signals, permission changes, file
    removal outside ``workdir``, sockets. (Defence in depth: the limits and the network namespace
    hold even if a program finds its way around a disabled call.)"""
    import shutil
    import socket
    import subprocess

    root = os.path.realpath(workdir)

    def inside(path):
        p = os.path.realpath(os.fspath(path))
        return p == root or p.startswith(root + os.sep)

    def only_inside(name, fn):
        def wrapped(path, *args, **kwargs):
            if not inside(path):
                raise PermissionError(f"{name} outside the sandbox's working directory is disabled")
            return fn(path, *args, **kwargs)
        return wrapped

    for name in ("remove", "unlink", "rmdir"):
        setattr(os, name, only_inside(f"os.{name}", getattr(os, name)))
    shutil.rmtree = only_inside("shutil.rmtree", shutil.rmtree)
    for name in ("system", "popen", "kill", "killpg", "fork", "forkpty", "vfork", "putenv", "unsetenv",
                 "removedirs", "rename", "renames", "replace", "truncate", "chmod", "fchmod", "lchmod",
                 "chown", "fchown", "lchown", "chroot", "fchdir", "setuid", "setgid", "seteuid", "setegid",
                 "setreuid", "setregid", "setsid", "execv", "execve", "execl", "execle", "execlp", "execlpe",
                 "execvp", "execvpe", "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp", "spawnlpe",
                 "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "_exit", "abort",
                 "link", "symlink", "mkfifo", "mknod"):
        if hasattr(os, name):
            setattr(os, name, _disabled(f"os.{name}"))
    for name in ("move", "chown", "copytree"):
        setattr(shutil, name, _disabled(f"shutil.{name}"))
    for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"):
        setattr(subprocess, name, _disabled(f"subprocess.{name}"))
    for name in ("socket", "create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo"):
        setattr(socket, name, _disabled(f"socket.{name} (network)"))
    builtins.exit = builtins.quit = _disabled("exit")
    # modules that reach around the guard (raw C calls, processes, limits)
    for mod in ("ctypes", "_ctypes", "multiprocessing", "_posixsubprocess", "resource", "psutil",
                "pty", "_socket", "ipdb", "joblib", "tkinter", "signal"):
        sys.modules[mod] = None


def main():
    limits = json.loads(sys.argv[1])
    program_path = sys.argv[2]
    real_exit = os._exit
    net = leave_network()
    try:
        set_limits(limits)
    except Exception as e:  # the platform refuses a limit
        sys.stderr.write(f"LIMITS: {type(e).__name__}: {e}\n")
        real_exit(LIMITS_FAILED)
    if limits.get("probe"):
        sys.stdout.write(json.dumps({"net": net}) + "\n")
        sys.stdout.flush()
        real_exit(0)
    with open(program_path, encoding="utf-8") as fh:
        source = fh.read()
    guard(os.getcwd())
    sys.argv = [program_path]
    try:
        code = compile(source, "program.py", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except BaseException:  # noqa: BLE001 - any exit before the end is a failure
        try:
            sys.stderr.write("".join(traceback.format_exc(limit=3))[-2000:])
            sys.stderr.flush()
        finally:
            real_exit(1)
    sys.stdout.flush()
    real_exit(0)


if __name__ == "__main__":
    main()
