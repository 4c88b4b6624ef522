"""Study and reproduce stages report progress through ``logging`` (the CLI prints INFO unless -q)."""

import logging

from memspice.study.stages import StageRunner


def _work(folder):
    (folder / "x.txt").write_text("1")
    return {"n": 1}


def test_stage_runner_logs_running_done_and_cached(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="memspice")
    first = StageRunner(tmp_path).run("device", {"a": 1}, _work)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("memspice.study.stages", "[1] device: running"),
        ("memspice.study.stages", f"[1] device: done in {first.seconds:.1f} s ({first.key})")]
    caplog.clear()
    again = StageRunner(tmp_path).run("device", {"a": 1}, _work)
    assert again.cached and [r.getMessage() for r in caplog.records] == [f"[1] device: cached ({first.key})"]


def test_stage_runner_logs_to_the_logger_it_is_given(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="memspice")
    StageRunner(tmp_path, logging.getLogger("memspice.reproduce")).run("fig3", {}, _work)
    assert {r.name for r in caplog.records} == {"memspice.reproduce"}
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]


def test_library_calls_take_no_print_callbacks():
    import inspect

    from memspice.reproduce.run import run_reproduce
    from memspice.study.run import Study, run_study

    for fn in (run_study, run_reproduce, Study.__init__, StageRunner.__init__):
        params = inspect.signature(fn).parameters
        assert not {"log", "progress"} & set(params), (fn.__qualname__, list(params))
