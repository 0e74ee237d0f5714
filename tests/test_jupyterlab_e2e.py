"""End to end in a real browser: JupyterLab (token auth, loopback) driven by headless Debian Chromium via Playwright.

Opens every lesson (and a fixture), runs all cells (quick profile), checks that no cell shows an error, and that the
lesson's key widget renders and reacts: moving its slider, ticking its checkbox or typing into its text box changes
what the cell displays. Screenshots go to build/e2e/.
Chromium comes from `.ci/install_browser.sh` (Debian's `chromium` package); with CI=true a missing browser fails.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SHOTS = REPO / "build" / "e2e"
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
RUN_TIMEOUT_S = int(os.environ.get("COURSE_E2E_TIMEOUT", "600"))


# Each lesson's key widget, by lesson number: what to find in the notebook and how to change it.
WIDGETS = {
    "01": ("checkbox", None),  # the slide's perceptron: tick a reason
    "02": ("slider", None),  # the learning rate on C(w) = w^2
    "03": ("slider", None),  # weights of the worked example -> gradients
    "04": ("slider", None),  # the decision threshold -> precision and recall
    "05": ("slider", None),  # the chip browser
    "06": ("text", "재미없고 지루하다"),  # neighbours of a typed word
    "07": ("text", "처음엔 좋았는데 결말이 최악이다"),  # the GRU reads a typed review
    "08": ("slider", None),  # the saved model as a form
    "93": ("slider", None),  # the fixture
}
SELECTORS = {"slider": ".widget-slider", "checkbox": ".widget-checkbox", "text": ".widget-text"}
CASES = [FIXTURES / "93_fixture_widgets.ipynb", *sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
KOREAN = REPO / "notebooks" / "ko" / "02_gradient_descent.ipynb"
# Appended to the test's copy of the Korean lesson: a Korean-labelled plot, then a failed check whose hint must show.
KOREAN_PROBE = """import warnings

import matplotlib.pyplot as plt
from course_utils.exercises import require
from course_utils.i18n import t

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([1, 2, 3], [3, 1, 2])
    ax.set_title("경사하강법: 비용이 줄어듭니다")
    plt.show()
print("missing glyphs:", sum("missing from" in str(w.message) for w in caught))
require(False, t("Exercise {n}", n=9), "한글 힌트입니다")"""


def require_chromium() -> None:
    """Fail under CI and skip elsewhere when the browser is not installed."""
    if CHROMIUM.is_file():
        return
    message = f"Chromium not found at {CHROMIUM}: run .ci/install_browser.sh (apt-get install chromium)."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, serving a temp copy of notebooks (quick profile) + assets."""
    require_chromium()
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    for source in CASES:
        nb = load_notebook_node(str(source))  # with the metadata papermill's parameterize expects
        quick = parameterize_notebook(nb, nb.metadata["course_kit"]["quick_parameters"])
        nbformat.write(quick, root / "notebooks" / source.name)
    shutil.copy(FIXTURES / "fixture_checks.py", root / "notebooks")
    if KOREAN.is_file():
        nb = load_notebook_node(str(KOREAN))
        nb.cells.append(nbformat.v4.new_code_cell(KOREAN_PROBE, metadata={"tags": []}))
        (root / "notebooks" / "ko").mkdir()
        nbformat.write(parameterize_notebook(nb, nb.metadata["course_kit"]["quick_parameters"]),
                       root / "notebooks" / "ko" / KOREAN.name)
    if (REPO / "assets").is_dir():
        shutil.copytree(REPO / "assets", root / "assets")
    settings = root / ".lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # render every cell (no windowing); start the kernel without asking
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".lab-workspaces"), "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log = open(root / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (root / "jupyterlab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
            time.sleep(0.5)
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/api/contents", timeout=5)
        assert denied.value.code == 403, "token auth must be on"
        yield base, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt'))
                 .map(p => p.textContent.trim())"""


def wait_for_kernel(base: str, token: str, name: str, timeout_s: int = 120) -> None:
    """Wait until the server has a session for the notebook whose kernel is idle (started and connected)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as answer:
            sessions = json.load(answer)
        states = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(name) and s.get("kernel")]
        if "idle" in states:
            return
        time.sleep(1)
    raise AssertionError(f"no idle kernel for {name} within {timeout_s} s")


def run_all_cells(page, timeout_s: int) -> list[str]:
    """Click Run > Run All Cells and wait until every code cell shows an execution count."""
    deadline = time.monotonic() + timeout_s
    prompts: list[str] = []
    for attempt in range(2):  # a click that lands while the kernel connection settles can be dropped: retry once
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        started = time.monotonic()
        while time.monotonic() < deadline:
            prompts = page.evaluate(PROMPTS_JS)
            if prompts and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts):
                return prompts
            if attempt == 0 and all(p == "[ ]:" for p in prompts) and time.monotonic() - started > 20:
                break
            time.sleep(1)
    raise AssertionError(f"cells did not finish within {timeout_s} s: prompts {prompts}")


def shown_errors(page) -> list[str]:
    """Texts of error outputs (tracebacks) displayed in the notebook."""
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(o => o.textContent).filter(t => /Traceback|Error:|Exception/.test(t))""")


def widget_cell_state(cell) -> dict:
    """What a widget cell displays besides the slider itself: output text and figures (tail of each image)."""
    return cell.evaluate("""c => {
        const outputs = Array.from(c.querySelectorAll('.jp-OutputArea-output'))
            .filter(o => !o.querySelector('.jp-OutputArea-output'));
        const text = outputs.map(o => {
            const copy = o.cloneNode(true);
            copy.querySelectorAll('.widget-slider').forEach(s => s.remove());  // the slider and its readout
            return copy.textContent;
        }).join('\\n');
        const images = Array.from(c.querySelectorAll('.jp-OutputArea-output img')).map(i => i.src.slice(-300));
        return {text: text, images: images};
    }""")


def change_widget(cell, kind: str, text: str | None, steps: int = 3) -> None:
    """Move the slider by some steps, tick the first checkbox, or type text into the box."""
    if kind == "slider":
        handle = cell.locator(".widget-slider .noUi-handle").first
        handle.wait_for(state="visible", timeout=30_000)
        handle.focus()
        for _ in range(steps):
            handle.press("ArrowRight")
    elif kind == "checkbox":
        cell.locator(".widget-checkbox input").first.click()
    else:
        box = cell.locator(".widget-text input").first
        box.fill(text or "")
        box.press("Enter")


def wait_for_save(path: Path, timeout_s: int = 30) -> nbformat.NotebookNode:
    """The notebook as JupyterLab saved it after the run: once every code cell of the file has an execution count
    (the copy written before the run lacks the injected parameters cell's), or as it is after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        saved = nbformat.read(path, as_version=4)
        if all(c.execution_count for c in saved.cells if c.cell_type == "code") or time.monotonic() > deadline:
            return saved
        time.sleep(0.25)


@pytest.mark.parametrize("source", CASES, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_widget_reacts(lab, browser, source):
    base, token, root = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    try:
        # a workspace of its own per notebook, so tabs opened by an earlier case do not come back
        page.goto(f"{base}/lab/workspaces/{source.stem}/tree/notebooks/{source.name}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        wait_for_kernel(base, token, source.name)
        prompts = run_all_cells(page, RUN_TIMEOUT_S)
        page.screenshot(path=str(SHOTS / f"{source.stem}-after-run-all.png"))
        code_cells = [c for c in nbformat.read(source, as_version=4).cells if c.cell_type == "code"]
        assert len(prompts) == len(code_cells) + 1, "every code cell (plus the injected quick parameters) ran"
        assert shown_errors(page) == [], "a cell shows an error"

        kind, text = WIDGETS[source.stem[:2]]
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        slider_cell = panel.locator(".jp-CodeCell", has=page.locator(SELECTORS[kind])).first
        slider_cell.scroll_into_view_if_needed()
        slider_cell.locator(SELECTORS[kind]).first.wait_for(state="visible", timeout=30_000)
        before = widget_cell_state(slider_cell)
        assert before["text"].strip() or before["images"], "the widget cell displays something besides its input"
        slider_cell.screenshot(path=str(SHOTS / f"{source.stem}-widget-before.png"))
        # a lesson's slider moves far: a few small steps may not change a rounded result (lesson 08's probability)
        change_widget(slider_cell, kind, text, steps=3 if source.stem.startswith("93") else 25)
        deadline = time.monotonic() + 60
        after = before
        while after == before and time.monotonic() < deadline:
            time.sleep(0.5)
            after = widget_cell_state(slider_cell)
        slider_cell.screenshot(path=str(SHOTS / f"{source.stem}-widget-after.png"))
        assert after != before, f"changing the {kind} changed nothing the cell displays"
        if source.stem == "93_fixture_widgets":
            assert "x squared = 9" in before["text"] and "x squared = 36" in after["text"]
        if before["images"]:
            assert after["images"] and after["images"] != before["images"], "the figure follows the slider"

        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # leave a text box first:
        page.keyboard.press("Control+s")  # Ctrl+S typed into a widget's input box would not save the notebook
        saved = wait_for_save(root / "notebooks" / source.name)
        errors = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
        assert all(c.execution_count for c in saved.cells if c.cell_type == "code")
        assert not console_errors, console_errors
    finally:
        page.screenshot(path=str(SHOTS / f"{source.stem}-final.png"))
        page.close()


HANGUL_FONTS_JS = """async (selector) => {
    const element = Array.from(document.querySelectorAll(selector)).find(e => /[가-힣]/.test(e.textContent));
    if (!element) return null;
    element.setAttribute('data-hangul-probe', '1');
    return element.textContent.slice(0, 80);
}"""


def fonts_drawing(page, selector: str) -> tuple[str, list[str]]:
    """The text of the first element matching selector that contains Hangul, and the fonts Chromium drew it with."""
    text = page.evaluate(HANGUL_FONTS_JS, selector)
    assert text, f"no Korean text under {selector}"
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-hangul-probe='1']"})["nodeId"]
    fonts = [f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
    page.evaluate("() => document.querySelector('[data-hangul-probe]').removeAttribute('data-hangul-probe')")
    return text, fonts


def test_a_korean_lesson_shows_korean_text_hints_and_plots_in_a_korean_font(lab, browser):
    """The Korean edition in JupyterLab: markdown, a hint and a plot in Korean, drawn with a font that has Hangul."""
    base, token, _ = lab
    assert KOREAN.is_file(), "build the Korean edition: python -m course_utils.instructor.translation build"
    korean_fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout
    assert korean_fonts.strip(), "no Korean font installed: .ci/install_browser.sh installs fonts-nanum"
    families = {name.strip() for line in korean_fonts.splitlines() for name in line.split(",")}
    with urllib.request.urlopen(f"{base}/lab/api/translations/ko_KR?token={token}", timeout=30) as answer:
        menus = json.load(answer)["data"].get("jupyterlab", {})  # the Korean language pack, as JupyterLab serves it
    assert menus.get("Run All Cells") == ["모든 셀 실행"], "JupyterLab's Korean language pack is not installed"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab/workspaces/ko/tree/notebooks/ko/{KOREAN.name}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        wait_for_kernel(base, token, KOREAN.name)
        run_all_cells(page, RUN_TIMEOUT_S)
        page.screenshot(path=str(SHOTS / "ko-02-after-run-all.png"))
        panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        heading, heading_fonts = fonts_drawing(page, f"{panel} .jp-MarkdownOutput h1")
        assert "경사하강법" in heading and set(heading_fonts) & families, (heading, heading_fonts)
        probe = page.locator(f"{panel} .jp-CodeCell").last
        probe.scroll_into_view_if_needed()
        output = probe.locator(".jp-OutputArea").inner_text()
        assert "연습 9: 다시 생각해 보세요. 힌트: 한글 힌트입니다" in output, output
        assert "Traceback" not in output and "require(" not in output, "a failed check shows its hint only"
        assert "missing glyphs: 0" in output, "the plot's Korean title was drawn with a font that has Hangul"
        assert probe.locator(".jp-OutputArea-output img").count() == 1, "the Korean-labelled plot is shown"
        hint, hint_fonts = fonts_drawing(page, f"{panel} .jp-CodeCell:last-child .jp-OutputArea-output pre")
        assert "힌트" in hint and set(hint_fonts) & families, (hint, hint_fonts)
        correct = page.locator(f"{panel} .jp-OutputArea-output", has_text="정답입니다!").count()
        assert correct >= 1, "the lesson's own checks said 'correct' in Korean"
    finally:
        page.screenshot(path=str(SHOTS / "ko-02-final.png"))
        page.close()


def test_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install_browser.sh"):
        require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_chromium()
