from __future__ import annotations

import asyncio
import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from voicelab.cli import main
from voicelab.datasets import load_dataset
from voicelab.runner import run_dataset
from voicelab.testing import ScriptedPipeline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
_MIN_PIXEL_STD = 5.0  # grey levels: a drawn plot varies far more; a blank or flat image ~0
_PNG = re.compile(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def report(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``voicelab report A B --by speaker --html --audio`` over two scripted runs of 30 real
    spoken-digit turns: B's STT 60 ms slower, two turns misheard, one failed."""
    root = tmp_path_factory.mktemp("html")
    dataset = load_dataset(shared_data / "fsdd-sample").head(30)
    fast = ScriptedPipeline(name="scripted-fast", jitter_ms=40, seed=1)
    slow = ScriptedPipeline(
        name="scripted-slow", jitter_ms=40, seed=2,
        stage_ms={"stt": 360, "llm": 150, "tts": 100},
        heard={"0_jackson_0#0": "hero", "1_jackson_0#0": "won ton"},
        fail_turns=frozenset({"2_jackson_0#0"}),
    )  # fmt: skip
    for name, pipeline in (("a", fast), ("b", slow)):
        asyncio.run(run_dataset(pipeline, dataset, root / name))
    out = root / "report.html"
    argv = ["report", str(root / "a"), str(root / "b"), "--by", "speaker"]
    assert main([*argv, "--html", str(out), "--audio"]) == 0
    return out


def test_report_is_one_self_contained_file(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "://" not in page  # no http(s), no file: every byte is in the page
    assert "Paired comparison, B - A" in page and "29 turns paired of 30" in page
    assert "scripted-fast / george" not in page  # the 30 turns are all jackson's and theo's
    assert "scripted-fast / jackson" in page and "scripted-slow / jackson" in page
    images = _PNG.findall(page)
    titles = [title for title, _ in images]
    assert "Paired differences, B - A" in titles and "Word error rate by speaker" in titles
    assert len(images) == 7
    for title, data in images:
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"))
        assert pixels.shape[0] > 100 and pixels.std() > _MIN_PIXEL_STD, title
    assert page.count('<audio class="turn"') == 59  # every turn of both runs but the failed one
    assert page.count("no audio") == 1
    assert page.count('<audio class="conversation"') == 60  # one per conversation per run


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium"
    outside: list[str] = []

    def refuse_outside(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route(re.compile(r"^(?!file:|data:)"), refuse_outside)
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(_IMAGE_STATS_JS)
            page.wait_for_function(
                "[...document.querySelectorAll('audio')].every(a => a.readyState >= 1)"
            )
            durations = {
                kind: page.evaluate(
                    f"[...document.querySelectorAll('audio.{kind}')].map(a => a.duration)"
                )
                for kind in ("turn", "conversation")
            }
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            first_plot = tmp_path / "first-plot.png"
            page.locator("figure img").first.screenshot(path=str(first_plot))
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert outside == []
    assert len(images) == 7
    for image in images:
        assert image["complete"] and image["naturalWidth"] > 300, image["alt"]
        assert image["std"] > _MIN_PIXEL_STD, image["alt"]
    assert len(durations["turn"]) == 59
    assert all(d == pytest.approx(0.1, abs=0.01) for d in durations["turn"])  # the reply tone
    stereo = [
        sf.info(str(wav)).duration
        for run in ("a", "b")
        for wav in sorted((report.parent / run / "audio" / "conversations").glob("*.wav"))
    ]
    assert len(stereo) == 60  # the browser plays each conversation's whole stereo file
    assert durations["conversation"] == pytest.approx(stereo, abs=1e-3)
    for png in (shot, first_plot):
        pixels = np.asarray(Image.open(png).convert("L"))
        assert pixels.std() > _MIN_PIXEL_STD, png


# each image drawn on a canvas: its size and the standard deviation of its grey levels
_IMAGE_STATS_JS = """
[...document.images].map(img => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sumSq = 0, n = 0;
  for (let i = 0; i < data.length; i += 4) {
    const grey = (data[i] + data[i + 1] + data[i + 2]) / 3;
    sum += grey; sumSq += grey * grey; n += 1;
  }
  const mean = n ? sum / n : 0;
  return {alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
          std: n ? Math.sqrt(sumSq / n - mean * mean) : 0};
})
"""
