"""The notebooks: committed clean (no outputs, no secrets) and each runs top to bottom headless."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from browser import REPO, artifact_path, copy_notebooks
from nbclient import NotebookClient

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 900  # 02 runs eight turn-runs on the embedded models in one cell
SECRET = re.compile(r"sk-[A-Za-z0-9_-]{16,}|OPENAI_API_KEY\s*=\s*['\"]")
# what each notebook must show: (PNG figures, widget views) at least
EXPECTED_OUTPUTS = {
    "01-quickstart.ipynb": (2, 1),
    "02-compare-architectures.ipynb": (6, 2),
    "03-live-demo.ipynb": (0, 1),
    "04-noise-robustness.ipynb": (4, 2),
}


def test_the_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == sorted(EXPECTED_OUTPUTS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_or_secrets(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        assert not SECRET.search(cell.source), f"{path.name} cell {index} holds a secret"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"
    assert notebook.metadata["kernelspec"]["name"] == "voicelab"


def _count_outputs(notebook: nbformat.NotebookNode) -> tuple[int, int]:
    data = [o.get("data", {}) for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    images = sum("image/png" in d for d in data)
    views = sum("application/vnd.jupyter.widget-view+json" in d for d in data)
    return images, views


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_on_the_embedded_default(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the kernel inherits: the local default
    folder = copy_notebooks(tmp_path)
    notebook = nbformat.read(folder / path.name, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="voicelab", timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    nbformat.write(notebook, artifact_path(f"{path.stem}.executed.ipynb"))  # to look at
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    images, views = _count_outputs(notebook)
    min_images, min_views = EXPECTED_OUTPUTS[path.name]
    assert images >= min_images and views >= min_views, (images, views)
