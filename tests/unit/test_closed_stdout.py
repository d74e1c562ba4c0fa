"""A command whose stdout reader leaves (`| head -1`) runs to its end and keeps its exit code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent("""
    import sys, time
    from magent.cli.closed_stdout import tolerate_leaving_reader
    tolerate_leaving_reader()
    binary = sys.argv[2] == "binary"
    for n in range(20000):  # far more than a pipe buffer: the reader is gone long before the end
        line = f"event {n} " + "x" * 60 + "\\n"
        if binary:
            sys.stdout.buffer.write(line.encode())
        else:
            print(line, end="", flush=n % 100 == 0)
    open(sys.argv[1], "w").write("finished")  # the work after the output still happens
    sys.exit(4)
""")


@pytest.mark.parametrize("side", ["text", "binary"])
def test_the_command_finishes_when_its_reader_leaves(tmp_path, side):
    marker = tmp_path / "marker"
    script = f"{sys.executable} -c '{PROGRAM}' {marker} {side} | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[0].startswith("event 0 ")
    assert result.stdout.splitlines()[-1] == "rc=4", result.stderr
    assert "BrokenPipeError" not in result.stderr and "Traceback" not in result.stderr
    assert marker.read_text() == "finished"


def test_without_the_wrapper_the_same_program_dies_of_the_closed_pipe(tmp_path):
    """The test above can fail: unwrapped, the first write after the reader left raises."""
    marker = tmp_path / "marker"
    program = PROGRAM.replace("tolerate_leaving_reader()\n", "")
    script = f"{sys.executable} -c '{program}' {marker} text | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[-1] != "rc=4"
    assert not marker.exists()
