"""Data-parallel training: one shot model trained by several processes on one machine or across farm machines.

torch.distributed does the work (gloo on CPUs, NCCL on GPUs) and torchrun's launcher starts the processes. Every
process runs the same ``vsae train`` command line: the first (rank 0) looks the shot up in the cache, takes its lock,
trains, writes the entry and reports progress; the others load the same frames, take their slice of every global
batch and leave nothing behind. Rank 0 announces at once whether a training follows (the model may be cached
already), so the others never wait on a training that will not come.

The global batch (``--batch``) is drawn by one random stream that every process holds, and rank r takes its r-th
slice; batch norms take their statistics over the global batch (``GlobalBatchNorm2d``). So N processes train the
model one process would, up to the order of floating-point sums.

One machine, two processes::

    vsae train SHOT --steps 8000 --nproc 2

Two farm machines with 16 processes each (run on both; the first's address is the rendezvous)::

    vsae train SHOT --steps 8000 --nproc 16 --nnodes 2 --rdzv-endpoint host1:29400 --rdzv-id shot010

A farm cannot say in advance which machine will be the first, so its tasks meet through a file on storage every
machine reaches (``vsae farm --train-machines``): machine 0 takes a free port and writes its address there, the
others wait for it::

    vsae train SHOT --steps 8000 --nnodes 2 --node-rank R --rdzv-file /studio/vsae-cache/rendezvous/job1.json
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import torch

from vsae.errors import ParameterError, TrainingError

_announced = False
# How long a machine waits for the others of its training (farm tasks start when a machine is free).
RENDEZVOUS_TIMEOUT_S = 1800


def world() -> tuple[int, int]:
    """(rank, number of processes) of this training; (0, 1) outside a data-parallel run."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def launched() -> bool:
    """True in a process that torchrun started (its environment names a rank and a world)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ


def init_from_env() -> tuple[int, int]:
    """Join the process group torchrun described in the environment (gloo on CPUs, NCCL on GPUs)."""
    import datetime

    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        # Long enough for rank 0 to wait on another farm task that is training the same shot.
        dist.init_process_group(backend, timeout=datetime.timedelta(hours=4))
    return world()


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward pass sums the gradient over the processes too."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(torch.nn.BatchNorm2d):
    """Batch norm whose training statistics are those of the global batch: every process's sums, all-reduced.

    torch's SyncBatchNorm runs on GPUs only; per-process statistics of a CPU process's one or two frames would make
    a different model (session 7: 1.6 dB lower on the procedural shot after 80 steps). The backward pass sums the
    gradient terms over the processes too. Same parameters and
    buffers as BatchNorm2d (state dicts load either way).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        c = x.shape[1]
        xf = x.float()
        count = torch.full((1,), float(xf.numel() // c), device=x.device)
        sums = _SumOverProcesses.apply(torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), count]))
        n = sums[-1]
        mean = sums[:c] / n
        var = (sums[c:2 * c] / n - mean * mean).clamp(min=0)
        running_mean, running_var, tracked = self.running_mean, self.running_var, self.num_batches_tracked
        if running_mean is not None and running_var is not None and tracked is not None:  # track_running_stats
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 1.0 / float(tracked + 1)
                running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                running_var.mul_(1 - m).add_(var.detach() * n / max(float(n) - 1, 1.0), alpha=m)
                tracked += 1
        scale = (torch.rsqrt(var + self.eps) * self.weight)[None, :, None, None]
        return ((xf - mean[None, :, None, None]) * scale + self.bias[None, :, None, None]).to(x.dtype)


def swap_batchnorm(model: torch.nn.Module, cls: type) -> torch.nn.Module:
    """Every BatchNorm2d of ``model`` made a ``cls`` (BatchNorm2d or GlobalBatchNorm2d), in place; same weights."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.__class__ = cls  # the same parameters and buffers: only forward differs
    return model


def shutdown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")


def announce(training: bool) -> None:
    """Rank 0: tell the other processes whether a training follows. Once per run; later calls do nothing."""
    global _announced
    rank, size = world()
    if size == 1 or _announced or rank != 0:
        return
    import torch.distributed as dist

    dist.broadcast(torch.tensor([int(training)], device=_device()), src=0)
    _announced = True


def await_announcement() -> bool:
    """Other ranks: wait for rank 0 to say whether a training follows."""
    import torch.distributed as dist

    flag = torch.zeros(1, dtype=torch.int64, device=_device())
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def all_max(values: list[float]) -> list[float]:
    """The largest of each value over every process (one small all-reduce)."""
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of a (data-only, no gradient) tensor over every process."""
    import torch.distributed as dist

    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world()[1]


def broadcast_json(value) -> Any:
    """Rank 0's JSON-able ``value`` on every process (JSON bytes: no pickle between processes either)."""
    import torch.distributed as dist

    rank, _ = world()
    data = json.dumps(value).encode() if rank == 0 else b""
    size = torch.tensor([len(data)], dtype=torch.int64, device=_device())
    dist.broadcast(size, src=0)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=_device())
    if rank == 0:
        buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    dist.broadcast(buf, src=0)
    return json.loads(bytes(buf.cpu().tolist()).decode())


def broadcast_state(model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    """Rank 0's weights, batch-norm statistics and optimiser moments on every process (after a resume)."""
    import torch.distributed as dist

    for t in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(t.data, src=0)
    for p in model.parameters():
        state = opt.state.setdefault(p, {})
        for name in ("exp_avg", "exp_avg_sq"):
            state.setdefault(name, torch.zeros_like(p))
            dist.broadcast(state[name], src=0)
        step = torch.as_tensor(state.get("step", 0.0), dtype=torch.float32).reshape(1).to(_device())
        dist.broadcast(step, src=0)
        state["step"] = step.reshape(()).to(p.device)  # where the fused update wants it


def check_world(settings, frames: int) -> None:
    """The global batch splits evenly over the processes, and every process has a frame to take."""
    _, size = world()
    if settings.batch % size:
        raise ParameterError(f"--batch {settings.batch}: must be a multiple of the {size} training processes")
    if frames < size:
        raise ParameterError(f"{frames} training frames for {size} processes: use --nproc {frames} or fewer")


def publish_address(path: str) -> str:
    """Machine 0 of a training that meets through ``path``: a free port on this machine, its HOST:PORT written
    (atomically) to ``path`` for the others; returns it. ``VSAE_TRAIN_ADDRESS`` names this machine where its
    host name is not how the others reach it."""
    import socket

    from vsae.core.io.output_files import write_text_atomic

    host = os.environ.get("VSAE_TRAIN_ADDRESS") or socket.gethostname()
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    address = f"{host}:{port}"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_text_atomic(path, json.dumps({"address": address, "host": socket.gethostname(), "pid": os.getpid()}))
    return address


def read_address(path: str, timeout_s: float = RENDEZVOUS_TIMEOUT_S, poll_s: float = 1.0) -> str:
    """The other machines: wait (up to ``timeout_s``) for machine 0 to write its address to ``path``."""
    import time

    end = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # a shared folder: no symlinks
            with os.fdopen(fd) as fh:
                address = json.load(fh)["address"]
            if isinstance(address, str) and ":" in address:
                return address
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            pass  # not written yet (written atomically, so never half-read)
        except OSError as exc:
            raise TrainingError(f"--rdzv-file {path}: cannot read it ({exc.strerror})") from None
        if time.monotonic() > end:
            raise TrainingError(f"--rdzv-file {path}: machine 0 of the training did not write its address within "
                                f"{timeout_s:.0f} s (is its task running? a training on N machines needs N at once)")
        time.sleep(poll_s)


def launch(argv: list[str], nproc: int, nnodes: str = "1", node_rank: int | None = None,
           rdzv_endpoint: str | None = None, rdzv_id: str = "vsae", rdzv_file: str | None = None,
           rdzv_timeout_s: float = RENDEZVOUS_TIMEOUT_S) -> int:
    """Start ``nproc`` processes on this machine (of ``nnodes`` machines) running ``vsae ARGV``; the exit code of
    the first that failed, else 0. Each process gets an equal share of the machine's cores.

    The machines meet at ``rdzv_endpoint`` (HOST:PORT of one of them), or through ``rdzv_file``: machine
    ``node_rank`` 0 publishes its address there and removes the file when the training ends."""
    from torch.distributed import DistError
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous import RendezvousError

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // nproc)))  # torchrun would force 1 and warn
    args = ["--nproc-per-node", str(nproc), "--nnodes", str(nnodes)]
    published = False
    if rdzv_file:
        if node_rank is None or str(nnodes) == "1":
            raise ParameterError(f"--rdzv-file {rdzv_file}: needs --nnodes N (2 or more) and this machine's "
                                 "--node-rank")
        published = node_rank == 0
        address = publish_address(rdzv_file) if published else read_address(rdzv_file, rdzv_timeout_s)
        # Static: every machine's rank is the one it was given (the farm's task number), machine 0 hosts the store.
        args += ["--rdzv-backend", "static", "--rdzv-endpoint", address, "--node-rank", str(node_rank),
                 "--rdzv-id", rdzv_id, "--rdzv-conf", f"timeout={int(rdzv_timeout_s)}"]
    elif rdzv_endpoint:
        args += ["--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id]
        if node_rank is not None:
            args += ["--node-rank", str(node_rank)]
    elif str(nnodes) != "1":
        raise ParameterError(f"--nnodes {nnodes}: needs --rdzv-endpoint HOST:PORT (the first machine's address)")
    else:
        args += ["--standalone"]
    options = torchrun.get_args_parser().parse_args(args + ["--module", "vsae.cli"])
    options.training_script_args = list(argv)  # set here, not parsed: torchrun's parser would read vsae's options
    try:
        torchrun.run(options)
    except ChildFailedError as exc:
        codes = [f.exitcode for f in exc.failures.values() if f.exitcode]
        return codes[0] if codes else 1
    except (DistError, RendezvousError) as exc:  # the machines did not meet: no process started
        where = f"--rdzv-file {rdzv_file}" if rdzv_file else f"--rdzv-endpoint {rdzv_endpoint}"
        raise TrainingError(f"{where}: the {nnodes} machines of the training did not meet "
                            f"({str(exc).splitlines()[0]})") from None
    finally:
        if published and rdzv_file:
            with contextlib.suppress(FileNotFoundError):
                os.remove(rdzv_file)
    return 0

