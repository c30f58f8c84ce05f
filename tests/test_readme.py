"""README's Python blocks run, and CI runs README's test command."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_python_blocks_run(capsys):
    pytest.importorskip("dask.distributed")
    namespace = {}
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "AttentionPoolingClassifier:" in out and "embed__vector_size" in out
    assert re.search(r"\(\d+, 32\) True", out)  # the Dask recipe gives transform's vectors
    assert "True [1, 1]" in out  # the file recipe spilled, and partial_fit grew the vocabulary
    assert "from gensim:" in out and "KeyedVectors" in out and "pretrained + LogisticRegression:" in out


def test_ci_runs_the_readme_test_command():
    lines = README.splitlines()
    cmd = lines[lines.index("# run the test suite") + 1]
    assert "pip install torch==2.13.0" in cmd and cmd.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -A1 -x '# run the test suite' README.md" in ci


def test_no_package_registry_host_is_named():
    hosts = tuple(
        a + "." + b
        for a, b in (("pypi", "org"), ("files", "pythonhosted"), ("pythonhosted", "org"), ("download", "pytorch.org"))
    )
    for path in [ROOT / "README.md", *ROOT.glob("**/*.py"), *ROOT.glob("**/*.toml"), ROOT / ".ci" / "run"]:
        if ".venv" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not any(h in text for h in hosts), path
