"""Start a command confined, to run a student's code: limits, an unprivileged user, and only
the files it needs in view. The standard library only, so it runs before anything is imported:

    python -I confine.py --uid 65000 --keep /opt/python --keep /tmp/job/work \\
        --hide /tmp --hide /home/teacher --cpu 600 --memory 4000000000 --no-network -- CMD ...

In this order, then ``exec`` of CMD (its environment and working folder are the caller's):

1. As root on Linux, in a private mount namespace: each ``--hide`` folder, and every folder on
   the way to a ``--keep`` path that the unprivileged user could not enter (``/root`` holding a
   pyenv Python, say), is covered by an empty tmpfs with the ``--keep`` paths bound back in it;
   with ``--no-network``, a network namespace of its own (a loopback that is down).
   Nothing changes outside: the covers exist for this process and its children only.
2. Resource limits: CPU seconds, address space, the size of a written file, processes, no core.
3. No new privileges (setuid programs lose their power), then, as root, the ``--uid``/``--gid``
   with no supplementary groups.

Without root the mounts and the change of user are skipped (the code then runs as the
caller); ``--report`` prints, as JSON, what was in effect before running CMD.
"""
import argparse
import ctypes
import json
import os
import resource
import stat
import sys

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")   # writable by everyone: private (and emptied) here
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype=None, flags=0, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)          # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def can_enter(path, uid, gid):
    """Whether user ``uid`` (group ``gid``, no other groups) may search folder ``path``."""
    st = os.stat(path)
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def covers(keep, hide, uid, gid):
    """{folder to cover with an empty tmpfs: names inside it to bind back}, outermost first."""
    keep = [os.path.realpath(p) for p in keep]
    hidden = {os.path.realpath(p) for p in hide if os.path.isdir(p)}
    plan = {h: set() for h in hidden if not any(h == k or h.startswith(k + "/") for k in keep)}
    for path in keep:
        parts = path.strip("/").split("/")
        for depth in range(len(parts) - 1):
            folder = "/" + "/".join(parts[:depth + 1])
            if folder in plan or not can_enter(folder, uid, gid):
                plan.setdefault(folder, set()).add(parts[depth + 1])
    return dict(sorted(plan.items(), key=lambda item: item[0].count("/")))


def cover(folder, names, writable):
    """Mount an empty tmpfs on ``folder`` and bind ``names`` (its entries) back into it."""
    inner = {}
    for name in names:
        fd = os.open(os.path.join(folder, name), os.O_PATH | os.O_CLOEXEC)
        inner[name] = fd
    mode = "1777" if writable else "0755"
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={'512m' if writable else '1m'}")
    for name, fd in inner.items():
        target = os.path.join(folder, name)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.mkdir(target)
        else:
            open(target, "w").close()
        _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        os.close(fd)
    if not writable:
        _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, f"mode={mode}")


def _still_there(folder, plan):
    """Whether ``folder`` is still in view after the covers of the folders around it."""
    for outer, names in plan.items():
        if folder.startswith(outer + "/") and folder[len(outer) + 1:].split("/")[0] not in names:
            return False
    return True


class NoNamespaces(OSError):
    """The kernel refused a private mount namespace (a container without CAP_SYS_ADMIN)."""


def isolate(keep, hide, uid, gid, no_network):
    """Step 1 (root only). Returns what was done, for --report."""
    flags = CLONE_NEWNS | (CLONE_NEWNET if no_network else 0)
    if _libc.unshare(flags) != 0:
        raise NoNamespaces(ctypes.get_errno(), "unshare: " + os.strerror(ctypes.get_errno()))
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    plan = covers(keep, list(hide) + list(SHARED_TMP), uid, gid)
    done = [folder for folder in plan if _still_there(folder, plan)]
    for folder in done:
        cover(folder, plan[folder], writable=folder in SHARED_TMP)
    return {"covered": done, "network": not no_network}


def limit(cpu, memory, file_size, processes):
    """Step 2: the limits are lowered only, never raised."""
    for which, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory),
                         (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_NPROC, processes),
                         (resource.RLIMIT_CORE, 0)):
        if value is not None:
            soft, hard = resource.getrlimit(which)
            value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):        # a limit this system does not enforce (macOS: memory)
                pass


def drop(uid, gid):
    """Step 3."""
    if sys.platform == "linux":
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    if os.getuid() == 0 and uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


# The grader's side: how it describes a confinement and cleans up after one ----------------------

UID_BASE = 65000        # Debian reserves 65000-65533 and gives them to no account: such a uid owns no file
MEMORY = 4e9            # bytes of address space for a kernel or a sandbox
FILE_SIZE = 1e8         # the largest file student code may write
PROCESSES = 256         # processes and threads of one job's uid


def python_paths():
    """The folders the running Python and its packages live in (to stay reachable)."""
    import site
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages()}
    return sorted({os.path.realpath(p) for p in found if os.path.isdir(p)})


def claim_uid(lock_dir, jobs_at_most=500):
    """(uid, open lock file) of a uid no other grading job on this machine holds, as root;
    (None, None) otherwise (student code then runs as the caller)."""
    if os.getuid() != 0 or sys.platform != "linux":
        return None, None
    import fcntl
    for uid in range(UID_BASE, UID_BASE + jobs_at_most):
        lock = open(os.path.join(lock_dir, f"bpcourse-grade-uid-{uid}.lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return uid, lock
    raise RuntimeError(f"no free uid in {UID_BASE}..{UID_BASE + jobs_at_most - 1} for a grading job")


def environment(home, extra=None):
    """The whole environment of student code: nothing of the grader's own."""
    env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
           "LANG": "C.UTF-8", "HOME": str(home), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "BPCOURSE_PROGRESS": os.path.join(str(home), ".progress.jsonl")}
    env.update(extra or {})
    return env


class Confinement:
    """One grading job's confinement: its uid (None when not root), the paths it keeps and hides."""

    def __init__(self, uid, keep=(), hide=()):
        self.uid, self.keep, self.hide = uid, [str(p) for p in keep], [str(p) for p in hide]

    def command(self, cmd, cpu, keep=(), no_network=True, report=False):
        """``cmd`` prefixed with this launcher and its options."""
        launcher = [sys.executable, "-I", os.path.abspath(__file__)]
        if self.uid is not None:
            launcher += ["--uid", str(self.uid), "--processes", str(PROCESSES)]
        for path in [*self.keep, *map(str, keep)]:
            launcher += ["--keep", path]
        for path in self.hide:
            launcher += ["--hide", path]
        launcher += ["--cpu", str(int(cpu)), "--memory", str(int(MEMORY)), "--file-size", str(int(FILE_SIZE))]
        launcher += ["--no-network"] if no_network else []
        launcher += ["--report"] if report else []
        return launcher + ["--"] + list(map(str, cmd))

    def give(self, *paths):
        """Make ``paths`` (folders, recursively, or files) the job uid's own."""
        if self.uid is None:
            return
        for top in paths:
            for folder, dirs, files in os.walk(top) if os.path.isdir(top) else [("", [], [top])]:
                for name in ([folder] if folder else []) + [os.path.join(folder, f) for f in files]:
                    os.lchown(name, self.uid, self.uid)

    def kill_leftovers(self):
        """Kill every process of the job uid (a student's background process, say)."""
        if self.uid is None:
            return
        for _ in range(5):
            found = [pid for pid in _pids() if _uid_of(pid) == self.uid]
            if not found:
                return
            for pid in found:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass


def _pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _uid_of(pid):
    """The real uid of a live process (None for a zombie or a process gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return None
    if fields.get("State", "").strip().startswith("Z"):
        return None
    return int(fields["Uid"].split()[0])


def main(argv=None):
    p = argparse.ArgumentParser(prog="confine", description=__doc__.split("\n\n")[0])
    p.add_argument("--uid", type=int)
    p.add_argument("--gid", type=int)
    p.add_argument("--keep", action="append", default=[], help="a path that must stay reachable")
    p.add_argument("--hide", action="append", default=[], help="a folder to cover with an empty one")
    p.add_argument("--cpu", type=float, help="CPU seconds")
    p.add_argument("--memory", type=float, help="address space, in bytes")
    p.add_argument("--file-size", type=float, help="the largest file it may write, in bytes")
    p.add_argument("--processes", type=int, help="processes of this user (with --uid)")
    p.add_argument("--no-network", action="store_true")
    p.add_argument("--report", action="store_true", help="print what was in effect, as JSON")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no command given")
    done = {"root": os.getuid() == 0, "covered": [], "network": True}
    if os.getuid() == 0 and args.uid is not None and sys.platform == "linux":
        gid = args.uid if args.gid is None else args.gid
        try:
            done.update(isolate(args.keep, args.hide, args.uid, gid, args.no_network))
        except NoNamespaces as err:              # a container without CAP_SYS_ADMIN: limits and user only
            done["isolation_error"] = str(err)
        except OSError as err:
            sys.exit(f"confine: {err}")
    limit(args.cpu, args.memory, args.file_size, args.processes if args.uid is not None else None)
    drop(args.uid, args.uid if args.gid is None else args.gid)
    done["uid"] = os.getuid()
    if args.report:
        print(json.dumps(done), flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
