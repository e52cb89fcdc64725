"""Run a student's notebook in a fresh, confined kernel, as nbclient does, and record what the
grader needs: each cell's reply status, its outputs (capped), the cells that timed out.

    run = execute(nb, job, confinement, timeout)
    run.replies[i]    # "ok" or "error" (the kernel's execute reply), absent if not run
    run.problems[i]   # "cell 7 timed out after 60 s ..."
    run.died          # a sentence if the kernel died, else None

The kernel starts through ``confine.py`` (scrubbed environment, limits, an unprivileged user as
root, no network: it talks over Unix sockets in the job folder) and imports bpcourse from the
job's fresh copy of the package (``PYTHONPATH``). A test cell whose reply is "error" failed,
even if an exception hook (``set_custom_exc``) hid the traceback.
"""
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from jupyter_client.manager import AsyncKernelManager

from .confine import environment

OUTPUT_CAP = 100_000            # characters of output kept per cell; the rest is dropped, with a note
_quiet = logging.getLogger("bpcourse.grade.nbclient")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass
class Run:
    replies: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    died: str = None


class ConfinedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts through ``confine.py`` (set ``confine`` first)."""

    confine = None                               # (confinement, job) of the notebook being graded

    def format_kernel_cmd(self, extra_arguments=None):
        confinement, job, cpu = self.confine
        return confinement.command(super().format_kernel_cmd(extra_arguments), cpu=cpu, keep=[job.root])

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        confinement, _, _ = self.confine
        confinement.give(self.connection_file)


class GradingClient(NotebookClient):
    """nbclient's client, recording each cell's execute reply status and capping outputs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.replies, self.sizes = {}, {}

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        self.replies[cell_index] = (exec_reply or {}).get("content", {}).get("status", "no reply")
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in (content.get("data") or {}).values())
        before = self.sizes.get(cell_index, 0)
        self.sizes[cell_index] = before + size
        if before + size <= OUTPUT_CAP:
            return super().output(outs, msg, display_id, cell_index)
        if before <= OUTPUT_CAP:                 # the first output over the cap: say so, once
            outs.append({"output_type": "stream", "name": "stdout",
                         "text": f"\n[output cut: more than {OUTPUT_CAP} characters]\n"})
        return None


def execute(nb, job, confinement, timeout):
    """Run every code cell of ``nb`` (in place) in a fresh confined kernel in ``job.work``."""
    client = GradingClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                           interrupt_on_timeout=True, record_timing=False, log=_quiet,
                           shutdown_kernel="immediate",
                           kernel_manager_class=ConfinedKernelManager,
                           resources={"metadata": {"path": str(job.work)}})
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    client.km = client.create_kernel_manager()
    client.km.confine = (confinement, job, timeout * code_cells + 120)
    client.km.transport, client.km.ip = "ipc", str(job.home / "kernel")
    client.km.connection_file = str(job.home / "kernel.json")
    run, count = Run(), 0
    env = environment(job.home, {"PYTHONPATH": str(job.package)})
    quiet = subprocess.DEVNULL                   # the kernel's own log lines are not the student's
    with client.setup_kernel(env=env, cwd=str(job.work), stdout=quiet, stderr=quiet):
        pid = getattr(client.km.provisioner, "pid", None)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            count += 1
            start = time.monotonic()
            grace = max(3.0, min(timeout, 10.0))                        # after the interrupt
            watchdog = threading.Timer(timeout + grace, _kill, args=(pid,))
            watchdog.start()
            try:
                client.execute_cell(cell, index, execution_count=count)
            except DeadKernelError:
                run.died = (f"the kernel died in cell {index + 1} (the interrupt after the {timeout} s "
                            f"timeout was ignored, or the code exited or ran out of memory)")
                break
            finally:
                watchdog.cancel()
            if time.monotonic() - start >= timeout:
                run.problems[index] = f"cell {index + 1} timed out after {timeout} s (an endless loop?)"
    run.replies = client.replies
    return run


def _kill(pid):
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
