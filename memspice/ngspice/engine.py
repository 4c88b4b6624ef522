"""Running decks with ngspice: the only module that starts the simulator.

Two backends behind one interface (:func:`simulate`):

- ``subprocess`` (default, robust): ``ngspice -b`` in its own run directory, reading the deck on its
  standard input (written into the run directory as ``deck.cir`` only when the run fails or is kept);
  the deck's ``.control`` block writes one binary raw file that :mod:`memspice.raw` parses.
- ``shared``: ngspice's shared library through PySpice, one engine per process; the circuit is
  loaded, the same control commands are sent one by one and vectors are read from memory; after
  the run every plot is destroyed and the circuit removed, so memory does not grow run after run.

Both return a :class:`SimResult` whose vectors have the same canonical names and, on the same
deck, the same numbers. A run succeeds only when ngspice's output holds no error, every
requested analysis produced a plot and every requested vector is there; otherwise a
:class:`~memspice.errors.SimulationError` names the deck, the kept run directory and the log lines.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from memspice.errors import (
    InputError,
    MissingVectorError,
    NgspiceNotFoundError,
    SimulationError,
    SimulationTimeout,
)
from memspice.netlist.deck import Analyze, Deck
from memspice.ngspice.locate import find_libngspice, find_ngspice
from memspice.ngspice.log import clean_lines, scan
from memspice.ngspice.watchdog import Watchdog
from memspice.raw import Plot, canonical_name, plot_kind, read_raw

BackendName = Literal["subprocess", "shared"]
BACKENDS: tuple[str, ...] = ("subprocess", "shared")
# the one default of every flow and command: measured faster in wall time and robust (scripts/bench_backend.py,
# docs/DEVELOPING.md "ngspice backend"); both give the same numbers
DEFAULT_BACKEND = "subprocess"
DEFAULT_TIMEOUT_S = 600.0
# ngspice evaluates BSIM4 devices on OpenMP threads (2 unless spinit sets num_threads) whose idle
# threads spin. With two ngspice runs at once on a 2-core machine (Monte Carlo workers, parallel
# tests) the spinning threads starve the working ones: measured on a 3-bit Q-cell sweep, 0.08 s
# alone and 4.8 s each for two at once (user time, not waiting); with passive waiting 0.08 s each.
# The policy changes only how idle threads wait, not the numbers. A value set by the user wins.
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


@dataclass
class SimResult:
    """The plots of a run, one per :class:`Analyze` step, in order."""

    plots: list[Plot]
    labels: list[str]
    backend: str
    log: list[str] = field(default_factory=list)
    run_dir: Path | None = None
    elapsed_s: float = 0.0

    def __getitem__(self, key: int | str) -> Plot:
        if isinstance(key, int):
            return self.plots[key]
        try:
            return self.plots[self.labels.index(key)]
        except ValueError:
            raise KeyError(f"no analysis labelled {key!r}; labels are {self.labels}") from None

    def __len__(self) -> int:
        return len(self.plots)


def default_run_root() -> Path:
    """Where run directories go: ``$MEMSPICE_RUN_ROOT`` or the system temporary folder."""
    path = _run_root_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run_root_path() -> Path:
    root = os.environ.get("MEMSPICE_RUN_ROOT")
    return Path(root) if root else Path(tempfile.gettempdir()) / "memspice-runs"


def _new_run_dir(root: Path | None) -> Path:
    base = root if root is not None else _run_root_path()
    try:  # the folder exists after the first run: one system call instead of three (mkdir's exists check)
        return Path(tempfile.mkdtemp(prefix="run-", dir=base))
    except FileNotFoundError:
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="run-", dir=base))


def _subprocess_env(run_dir: Path) -> dict[bytes, bytes]:
    """ngspice's environment: this process's, HOME in the run folder (a user's ~/.spiceinit must not change
    results) and OPENMP_ENV where not set. As bytes (``os.environb``): Popen encodes a str environment
    variable by variable on every run, and ``dict(os.environ)`` decodes it (together ~0.3 ms a run)."""
    env = dict(os.environb)
    env[b"HOME"] = os.fsencode(run_dir)
    for key, value in OPENMP_ENV.items():
        env.setdefault(key.encode(), value.encode())
    return env


def simulate(
    deck: Deck,
    *,
    backend: BackendName | str = DEFAULT_BACKEND,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    run_root: Path | None = None,
    keep_run_dir: bool = False,
    ngspice: str | os.PathLike | None = None,
) -> SimResult:
    """Run every step of ``deck`` and return its plots.

    ``timeout_s`` bounds the wall time of the whole run. The run directory is deleted after a
    success unless ``keep_run_dir``; after a failure it is always kept and named in the error.
    """
    if backend == "subprocess":
        return _run_subprocess(deck, timeout_s=timeout_s, run_root=run_root, keep=keep_run_dir,
                               ngspice=ngspice)
    if backend == "shared":
        return shared_engine().run(deck, timeout_s=timeout_s, run_root=run_root, keep=keep_run_dir)
    raise InputError(f"backend: got {backend!r}; expected one of {', '.join(BACKENDS)}")


# -- checks shared by both backends ----------------------------------------------------------

def _is_scale(name: str) -> bool:
    return name in ("time", "frequency") or name.endswith("-sweep")


def _select(plot: Plot, step: Analyze) -> Plot:
    """Keep the requested vectors and the scale (ngspice adds source currents on its own)."""
    if not step.vectors:
        return plot
    wanted = {canonical_name(v) for v in step.vectors}
    keep = {k: v for k, v in plot.vectors.items() if k in wanted or _is_scale(k)}
    return Plot(name=plot.name, title=plot.title, scale=plot.scale if plot.scale in keep else "",
                vectors=keep, kinds={k: plot.kinds.get(k, "") for k in keep})


def _fail(err_cls: type[SimulationError], reason: str, run_dir: Path, lines) -> SimulationError:
    return err_cls(reason, deck=run_dir / "deck.cir", run_dir=run_dir, log_lines=list(lines))


def _check_output(deck: Deck, plots: list[Plot], lines: list[str], run_dir: Path) -> None:
    verdict = scan(lines)
    if verdict.error is not None:
        raise _fail(verdict.error, verdict.reason, run_dir, verdict.lines or lines[-10:])
    analyses = deck.analyses
    if len(plots) != len(analyses):
        raise _fail(SimulationError,
                    f"expected {len(analyses)} analysis result(s), ngspice produced {len(plots)}",
                    run_dir, lines[-15:])
    for k, (step, plot) in enumerate(zip(analyses, plots, strict=True)):
        missing = [v for v in step.vectors if canonical_name(v) not in plot.vectors]
        if missing:
            raise _fail(MissingVectorError,
                        f"analysis {k} ({step.label or step.analysis.command()}) lacks {', '.join(missing)}",
                        run_dir, lines[-10:])
        for name, values in plot.vectors.items():
            if not np.all(np.isfinite(values)):
                raise _fail(SimulationError, f"analysis {k}: vector {name} holds NaN or infinite values",
                            run_dir, lines[-10:])


# -- subprocess backend ----------------------------------------------------------------------

def _run_subprocess(deck: Deck, *, timeout_s: float, run_root: Path | None, keep: bool,
                    ngspice: str | os.PathLike | None) -> SimResult:
    exe = find_ngspice(ngspice)
    run_dir = _new_run_dir(run_root)
    text = deck.render("out.raw").encode("utf-8")
    if keep:
        (run_dir / "deck.cir").write_bytes(text)
    env = _subprocess_env(run_dir)
    t0 = time.monotonic()
    try:
        with (run_dir / "stdout.log").open("wb") as out, (run_dir / "stderr.log").open("wb") as err:
            with _LIVE_LOCK:  # started under the lock, so stopping_runs() sees every process or refuses it
                if _STOPPING:
                    raise InterruptedError("ngspice runs are being stopped (the Monte Carlo that started them ended)")
                # the deck on ngspice's standard input (``ngspice -b`` reads its circuit there when given no
                # file): no deck file to create and delete per run on a successful run; a failed run writes
                # it into the kept run folder (below)
                # its own process group (killed as one; the terminal's Ctrl-C reaches memspice, which stops it)
                # in this session: a new session is a new scheduler autogroup where the Linux kernel has
                # them on (Debian's default), which makes nice ineffective against this process - a nice-19
                # CPU burner in its own session cut two-thread training from 9.0 to 1.1 steps/s, in this
                # session to 8.6 (session 9; the study's early SPICE work runs at nice 19 beside training)
                proc = subprocess.Popen([str(exe), "-b"], cwd=run_dir, stdout=out, stderr=err,
                                        stdin=subprocess.PIPE, env=env, process_group=0)
                _LIVE.add(proc)
            # a blocking wait and a deadline kept by one watchdog thread for all runs: Popen.wait(timeout) polls
            # with sleeps of up to 50 ms, and a timer thread per run cost 0.14 ms of CPU per chunk
            deadline = None
            try:
                deadline = _WATCHDOG.watch(time.monotonic() + timeout_s, proc)
                try:
                    proc.stdin.write(text)  # type: ignore[union-attr]
                except BrokenPipeError:  # ngspice ended (or was killed) before reading it all: its log says why
                    pass
                finally:
                    try:
                        proc.stdin.close()  # type: ignore[union-attr]
                    except BrokenPipeError:
                        pass
                proc.wait()
            except BaseException:
                _kill_group(proc)
                raise
            finally:
                if deadline is not None:
                    _WATCHDOG.cancel(deadline)
                with _LIVE_LOCK:
                    _LIVE.discard(proc)
            if deadline.expired and proc.returncode != 0:  # killed at the deadline (not finished just before it)
                lines = _read_logs(run_dir)
                raise _fail(SimulationTimeout, f"no result after {timeout_s:g} s (killed)", run_dir, lines[-10:])
        elapsed = time.monotonic() - t0
        lines = _read_logs(run_dir)
        raw = run_dir / "out.raw"
        plots = read_raw(raw) if raw.exists() and raw.stat().st_size > 0 else []
        if len(plots) == len(deck.analyses):
            plots = [_select(p, s) for p, s in zip(plots, deck.analyses, strict=True)]
        _check_output(deck, plots, lines, run_dir)
    except BaseException:  # the kept run folder holds the deck the error names
        if not keep:
            try:
                (run_dir / "deck.cir").write_bytes(text)
            except OSError:  # e.g. a full disk: the simulator's error, not this one, is the one to report
                pass
        raise
    labels = [a.label for a in deck.analyses]
    if not keep:
        _remove_run_dir(run_dir)
    return SimResult(plots=plots, labels=labels, backend="subprocess", log=lines,
                     run_dir=run_dir if keep else None, elapsed_s=elapsed)


def _remove_run_dir(run_dir: Path) -> None:
    """Remove a finished run's folder: it holds only files (the logs, the raw file), so unlinking them is
    enough (a third of shutil.rmtree's CPU, which walks it by file descriptors); rmtree if that fails."""
    try:
        for name in os.listdir(run_dir):
            os.unlink(os.path.join(run_dir, name))
        os.rmdir(run_dir)
    except OSError:
        shutil.rmtree(run_dir, ignore_errors=True)


def _signal_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group without waiting for it (the watchdog's kill: the run's own thread
    reaps the process, so one process slow to die does not hold back every other run's deadline)."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


_WATCHDOG = Watchdog(_signal_group)


# ngspice processes running now (any thread of this process) and whether new runs are refused: a Monte
# Carlo that runs chunks on threads stops its runs with stopping_runs() when it ends early
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()
_STOPPING = 0


@contextmanager
def stopping_runs() -> Iterator[None]:
    """Kill every running ngspice process group of this process and, inside the block, refuse new runs
    (:func:`simulate` with the subprocess backend raises ``InterruptedError``)."""
    global _STOPPING
    with _LIVE_LOCK:
        _STOPPING += 1
        live = list(_LIVE)
    for proc in live:
        _kill_group(proc)
    try:
        yield
    finally:
        with _LIVE_LOCK:
            _STOPPING -= 1


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _read_logs(run_dir: Path) -> list[str]:
    text = ""
    for name in ("stderr.log", "stdout.log"):
        path = run_dir / name
        if path.exists():
            text += path.read_bytes().decode("utf-8", "replace") + "\n"
    return clean_lines(text)


# -- shared-library backend ------------------------------------------------------------------

_SHARED: SharedEngine | None = None
_SHARED_LOCK = threading.Lock()


def shared_engine() -> SharedEngine:
    """The process's one shared-library engine (created on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.broken:
            _SHARED = SharedEngine()
        return _SHARED


class SharedEngine:
    """ngspice's shared library via PySpice; one per process, used under a lock.

    PySpice is driven through its public API only (``new_instance``, ``load_circuit``,
    ``exec_command`` for every command, ``bg_halt``, ``destroy all`` and ``remcirc`` included,
    ``last_plot``, ``plot`` and the vectors' ``to_waveform``/``is_branch_current``; the documented
    ``send_char`` callback collects the output), with one exception: PySpice 1.5 has no public
    end-of-background-run hook (its own ``_background_thread_running`` callback stores ngspice's
    "not running" flag as ``is_running`` and returns None, which cffi reports as an error on every
    background run), so that one callback is overridden. ``tests/unit/test_pyspice_public.py`` fails
    on any other private PySpice name.
    """

    def __init__(self) -> None:
        lib_path = find_libngspice()
        os.environ.setdefault("NGSPICE_LIBRARY_PATH", str(lib_path))
        for key, value in OPENMP_ENV.items():  # read by libgomp when the library loads
            os.environ.setdefault(key, value)
        logging.getLogger("PySpice").setLevel(logging.CRITICAL)
        from PySpice.Spice.NgSpice import Shared as shared_mod

        done = threading.Event()
        stdout: list[str] = []
        stderr: list[str] = []

        class _Shared(shared_mod.NgSpiceShared):
            def send_char(self, message, ngspice_id):  # public callback: every line ngspice prints
                stream, _, content = message.partition(" ")
                (stderr if stream == "stderr" else stdout).append(content)
                return 0

            # the one private override (see the class docstring): returns 0 and signals the end of the
            # background thread. ngspice marks the thread as exited before calling it (sharedspice.c,
            # _thread_run), so the next command, which joins the thread, can follow at once.
            @staticmethod
            def _background_thread_running(not_running, ngspice_id, user_data):
                if not_running:
                    done.set()
                return 0

        if shared_mod.NgSpiceShared.LIBRARY_PATH is None or "NGSPICE_LIBRARY_PATH" in os.environ:
            shared_mod.NgSpiceShared.LIBRARY_PATH = os.environ["NGSPICE_LIBRARY_PATH"]
        self._done = done
        self._stdout = stdout
        self._stderr = stderr
        self._command_error = shared_mod.NgSpiceCommandError
        try:
            self._ng = _Shared.new_instance()
        except OSError as err:  # a file that is not a loadable libngspice
            raise NgspiceNotFoundError(f"ngspice shared library {shared_mod.NgSpiceShared.LIBRARY_PATH}: cannot be "
                                       f"loaded ({str(err).splitlines()[0]}); set NGSPICE_LIBRARY_PATH to "
                                       "libngspice.so.0 or use --backend subprocess") from None
        self._lock = threading.Lock()
        self.broken = False

    def _command(self, text: str) -> None:
        """Send one command; its output goes to the run's log, which :func:`scan` judges (PySpice
        raises on any 'error' text in it, before the run's checks could name the error)."""
        try:
            self._ng.exec_command(text)
        except self._command_error:
            pass
        except ValueError as err:  # longer than ngspice's command buffer: it would be cut silently
            raise InputError(f"ngspice command: {err} ({len(text)} characters: {text[:60]}...)") from None

    def _clear_output(self) -> None:
        self._stdout.clear()
        self._stderr.clear()

    def _background(self, text: str, deadline: float) -> bool:
        """Run a command in ngspice's background thread; False if it outlived ``deadline``."""
        self._done.clear()
        self._command(f"bg_{text}")
        if self._done.wait(timeout=max(deadline - time.monotonic(), 0.0)):
            return True
        self._command("bg_halt")
        if not self._done.wait(timeout=10.0):
            self.broken = True
        # a halted analysis stays resumable and blocks the next one until it is reset
        self._command("reset")
        return False

    def _output(self) -> list[str]:
        return clean_lines("\n".join([*self._stderr, *self._stdout]))

    def run(self, deck: Deck, *, timeout_s: float, run_root: Path | None, keep: bool) -> SimResult:
        with self._lock:
            return self._run(deck, timeout_s=timeout_s, run_root=run_root, keep=keep)

    def _run(self, deck: Deck, *, timeout_s: float, run_root: Path | None, keep: bool) -> SimResult:
        run_dir = _new_run_dir(run_root)
        (run_dir / "deck.cir").write_text(deck.render("out.raw"))
        t0 = time.monotonic()
        deadline = t0 + timeout_s
        self._clear_output()
        plots: list[Plot] = []
        try:
            try:
                self._ng.load_circuit(deck.netlist())
            except Exception:  # PySpice raises on any 'error' text; our scan below names it
                pass
            lines = self._output()
            verdict = scan(lines)
            if verdict.error is not None:
                raise _fail(verdict.error, verdict.reason, run_dir, verdict.lines)
            for step in deck.steps:
                commands = step.commands()
                for cmd in commands[:-1] if isinstance(step, Analyze) else commands:
                    self._command(cmd)
                if isinstance(step, Analyze):
                    before = self._ng.last_plot
                    if not self._background(commands[-1], deadline):
                        raise _fail(SimulationTimeout, f"no result after {timeout_s:g} s (halted)",
                                    run_dir, self._output()[-10:])
                    name = self._ng.last_plot
                    if name == before or name == "const":
                        break  # the analysis failed; the log says why
                    plots.append(self._read_plot(name, step))
            lines = self._output()
            (run_dir / "stdout.log").write_text("\n".join(lines) + "\n")
            _check_output(deck, plots, lines, run_dir)
        finally:
            self._command("destroy all")
            self._command("remcirc")
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        return SimResult(plots=plots, labels=[a.label for a in deck.analyses], backend="shared",
                         log=lines, run_dir=run_dir if keep else None, elapsed_s=time.monotonic() - t0)

    def _read_plot(self, name: str, step: Analyze) -> Plot:
        vectors = self._ng.plot(None, name)
        plot = Plot(name=plot_kind(name))
        for vec_name, vec in vectors.items():
            wave = vec.to_waveform()
            key = canonical_name(vec_name, "current" if vec.is_branch_current and "#branch" in vec_name else None)
            data = np.array(wave)  # a plain ndarray copy of the values
            plot.vectors[key] = data.real.copy() if np.iscomplexobj(data) and not np.any(data.imag) else data
            plot.kinds[key] = _kind(wave)
        plot.scale = next((k for k in plot.vectors if _is_scale(k)), "")
        return _select(plot, step)


# the unit PySpice gives a vector type (NgSpiceShared.type_to_unit) -> ngspice's name of the type, as a raw
# file's variable list writes it; a type without a unit is "notype"
_KIND_OF_UNIT = {"V": "voltage", "A": "current", "s": "time", "Hz": "frequency", "F": "capacitance",
                 "°C": "temperature"}


def _kind(wave) -> str:
    try:
        suffix = wave.unit.unit_suffix
    except AttributeError:  # a waveform without a unit
        return "notype"
    return _KIND_OF_UNIT.get(suffix, "notype")
