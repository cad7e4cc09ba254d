"""A real browser in JupyterLab: open a learner notebook, Run > Run All Cells, and look.

Checks what nbval cannot: that a plot image and the ipywidgets controls render in the page,
that no cell shows an error, and that moving a slider changes the output. Uses Debian's
chromium through playwright (never `playwright install`, which downloads a browser build).
Leaves a screenshot in build/. Marked `browser`; about 1-3 minutes.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
RUN_ALL_SECONDS = 300


def notebook_to_open():
    """Notebook 04 (or 07 until it exists); $COURSE_BROWSER_NOTEBOOK names another one."""
    if os.environ.get("COURSE_BROWSER_NOTEBOOK"):
        return Path(os.environ["COURSE_BROWSER_NOTEBOOK"]).resolve()
    for name in ("04_lstm.ipynb", "07_hello.ipynb"):
        if (ROOT / "notebooks" / name).exists():
            return ROOT / "notebooks" / name
    pytest.fail("neither notebooks/04_lstm.ipynb nor notebooks/07_hello.ipynb exists")


def chromium_path():
    """Debian's chromium, installed with apt-get if it is missing."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is missing and cannot be installed here (needs root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    return shutil.which("chromium")


def ensure_playwright():
    try:
        import playwright  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token; stopped by its PID afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("lab")
    # The server sees a copy of the notebook, so that nothing it saves lands in the repository
    # (course_lib is installed, so the copy finds it anyway).
    notebooks = home / "notebooks"
    notebooks.mkdir()
    shutil.copy(notebook_to_open(), notebooks)
    # Render every cell (no windowing), so that the test sees all outputs; and no autosave.
    write_setting(home, "notebook-extension", "tracker", {"windowingMode": "none"})
    write_setting(home, "docmanager-extension", "plugin", {"autosave": False})
    write_setting(home, "apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False})
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}",
               f"--LabApp.user_settings_dir={home / 'settings'}",
               f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(home / "config"))
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()  # by its PID: the server shuts its kernels down on SIGTERM
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def write_setting(home, extension, plugin, values):
    folder = home / "settings" / "@jupyterlab" / extension
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))


def wait_for_all_cells(page, seconds):
    """Wait until every code cell has run: its prompt shows a number, not [ ] or [*]."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent)")
        if prompts and all(p.strip().strip("[]:").isdigit() for p in prompts):
            return prompts
        time.sleep(1)
    raise AssertionError(f"cells still not run after {seconds} s: {prompts}")


def test_run_all_cells_in_jupyterlab(lab):
    ensure_playwright()
    chromium = chromium_path()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, token = lab
    notebook = notebook_to_open()
    BUILD.mkdir(exist_ok=True)
    screenshot = BUILD / f"browser_{notebook.stem}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{url}/lab/tree/notebooks/{notebook.name}?reset&token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
            # The notebooks carry no kernelspec, so JupyterLab asks which kernel to start.
            select = page.locator(".jp-Dialog button:has-text('Select')")
            try:
                select.wait_for(timeout=15_000)
                select.click()
            except PlaywrightTimeout:
                pass
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)

            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            prompts = wait_for_all_cells(page, RUN_ALL_SECONDS)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)

            errors = page.eval_on_selector_all(
                "[data-mime-type='application/vnd.jupyter.error']", "els => els.map(e => e.innerText)")
            assert not errors, f"a cell shows an error:\n{errors[0][:2000]}"
            assert page.locator(".jp-OutputArea-output img").count() >= 1, "no plot image rendered"
            assert page.locator(".jp-OutputArea-output .jupyter-widgets").count() >= 1, "no ipywidgets rendered"
            assert page.get_by_text("Error displaying widget").count() == 0
            print(f"{notebook.name}: {len(prompts)} code cells run, {sliders_count(page)} sliders")

            sliders = page.locator(".jp-OutputArea-output .widget-slider")
            if sliders.count() == 0:
                print(f"slider step skipped: {notebook.name} has no ipywidgets slider")
            else:
                move_slider_and_check_output(page, sliders.first)
                print("moving the slider changed the output")
        finally:
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    assert screenshot.stat().st_size > 10_000


def sliders_count(page):
    return page.locator(".jp-OutputArea-output .widget-slider").count()


def move_slider_and_check_output(page, slider):
    """Move the first slider with the keyboard; the output next to it must change."""
    area = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]")
    output = area.locator(".widget-output")  # interact's output, beside the controls
    target = output if output.count() else area

    def snapshot():
        return target.first.evaluate("el => el.innerHTML")

    before = snapshot()
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    deadline = time.monotonic() + 60
    while snapshot() == before:
        assert time.monotonic() < deadline, "moving the slider did not change the output"
        time.sleep(0.5)
