"""tools/web_demo.py served on 127.0.0.1 and used in headless Chromium, as a person would.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or the path in ``$CHROMIUM``) and the
Python packages ``gradio`` and ``playwright`` (requirements/tests.txt). Without Chromium the
test is skipped with that reason, and ``make test`` prints it; ``.ci/run`` installs
Chromium and sets ``REQUIRE_CHROMIUM=1``, which turns the skip into a failure.
"""
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest

from viz_tiny import PSP_CONFIG, REPO, random_checkpoint

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


def chromium_missing_reason():
    """Why the browser test cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f'Chromium is missing ({CHROMIUM}): the web demo browser test cannot run; '
                'install it with `apt-get install -y chromium` (.ci/run does)')
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_for_server(proc: subprocess.Popen, url: str, log_file: str, timeout: float = 180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f'web_demo.py exited with {proc.returncode}:\n'
                                 + open(log_file).read()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f'web_demo.py did not answer on {url} within {timeout} s:\n'
                         + open(log_file).read()[-3000:])


@pytest.mark.slow
def test_web_demo_in_headless_chromium(tmp_path):
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get('REQUIRE_CHROMIUM') == '1':
            pytest.fail(reason)
        pytest.skip(reason)
    pytest.importorskip('gradio', reason='gradio is missing: pip install -e .[demo]')
    playwright = pytest.importorskip('playwright.sync_api')

    from mmseg.apis import init_model

    from mmseg_psp_ext.datasets.context_demo import render_scene
    from mmseg_psp_ext.visualization import (class_shares, colorize, model_classes_palette,
                                             overlay, predict_label)

    ckpt = random_checkpoint(str(tmp_path / 'random_pspnet.pth'))
    image, _ = render_scene(2, 1, 2, size=128)
    image = image[16:112]  # 96x128: not square, not the training size
    image_file = str(tmp_path / 'scene.png')
    cv2.imwrite(image_file, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    port = _free_port()
    url = f'http://127.0.0.1:{port}/'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p),
        GRADIO_ANALYTICS_ENABLED='False', GRADIO_TEMP_DIR=str(tmp_path / 'gradio'),
        OMP_NUM_THREADS='1')
    log_file = str(tmp_path / 'server.log')
    with open(log_file, 'w') as log:
        server = subprocess.Popen(
            [sys.executable, osp.join(REPO, 'tools/web_demo.py'), PSP_CONFIG, ckpt,
             '--port', str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        _wait_for_server(server, url, log_file)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(url, wait_until='load', timeout=60_000)
                page.locator('#input-image input[type=file]').set_input_files(image_file)
                result = page.locator('#overlay img')
                result.wait_for(timeout=120_000)
                first_src = result.get_attribute('src')
                half = cv2.imdecode(np.frombuffer(page.request.get(first_src).body(), np.uint8),
                                    cv2.IMREAD_COLOR)
                legend_names = page.locator('#legend .legend-name').all_inner_texts()
                legend_shares = page.locator('#legend .legend-share').all_inner_texts()

                # Opacity 1: the page shows the colour mask alone, without running the model.
                number = page.locator('#opacity input[type=number]')
                number.fill('1')
                number.press('Enter')
                page.wait_for_function(
                    "src => document.querySelector('#overlay img').src != src", arg=first_src,
                    timeout=60_000)
                full = cv2.imdecode(np.frombuffer(
                    page.request.get(result.get_attribute('src')).body(), np.uint8),
                    cv2.IMREAD_COLOR)
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The same model in this process gives the prediction the page must show.
    model = init_model(PSP_CONFIG, ckpt, device='cpu')
    classes, palette = model_classes_palette(model)
    label = predict_label(model, image)
    shares = class_shares(label, classes)
    assert len(shares) >= 2, 'the random model should predict several classes'

    assert half is not None and full is not None, 'the result images are not PNG files'
    half, full = cv2.cvtColor(half, cv2.COLOR_BGR2RGB), cv2.cvtColor(full, cv2.COLOR_BGR2RGB)
    assert half.shape == image.shape and full.shape == image.shape
    np.testing.assert_array_equal(half, overlay(image, label, palette, 0.5))
    np.testing.assert_array_equal(full, colorize(label, palette))
    assert legend_names == [s.name for s in shares]
    assert legend_shares == [f'{100 * s.share:.1f}%' for s in shares]


def _web_demo_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('web_demo', osp.join(REPO, 'tools/web_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_web_demo_without_trained_demo_says_to_run_make_demo(tmp_path, monkeypatch):
    web_demo = _web_demo_module()
    monkeypatch.setattr(web_demo, 'DEMO_WORK_DIR', str(tmp_path / 'demo'))
    with pytest.raises(SystemExit, match='run `make demo` first'):
        web_demo.resolve_model_files(None, None)
    with pytest.raises(SystemExit, match='give both CONFIG and CHECKPOINT'):
        web_demo.resolve_model_files(PSP_CONFIG, None)
    with pytest.raises(SystemExit, match="checkpoint file '.*nope.pth' does not exist"):
        web_demo.resolve_model_files(PSP_CONFIG, str(tmp_path / 'nope.pth'))
    (tmp_path / 'demo').mkdir()
    ckpt = tmp_path / 'demo' / 'iter_500.pth'
    ckpt.write_bytes(b'')
    (tmp_path / 'demo' / 'last_checkpoint').write_text(str(ckpt))
    assert web_demo.resolve_model_files(None, None) == (web_demo.DEMO_CONFIG, str(ckpt))


def test_web_demo_without_arguments_serves_the_demo_model(tmp_path, monkeypatch, capsys):
    """``python tools/web_demo.py``: the `make demo` model on http://127.0.0.1:7860.

    Everything but the listening socket (the browser test serves a page for real).
    """
    gr = pytest.importorskip('gradio', reason='gradio is missing: pip install -e .[demo]')
    web_demo = _web_demo_module()
    work_dir = tmp_path / 'demo'
    work_dir.mkdir()
    ckpt = random_checkpoint(str(work_dir / 'iter_500.pth'))
    (work_dir / 'last_checkpoint').write_text(ckpt)
    monkeypatch.setattr(web_demo, 'DEMO_WORK_DIR', str(work_dir))
    launched = {}

    def launch(app, **kwargs):
        launched.update(kwargs, app=app)

    monkeypatch.setattr(gr.Blocks, 'launch', launch)
    web_demo.main([])
    assert f'serving {web_demo.DEMO_CONFIG} with {ckpt}' in capsys.readouterr().out
    assert isinstance(launched['app'], gr.Blocks)
    assert (launched['server_name'], launched['server_port']) == ('127.0.0.1', 7860)
    assert launched['share'] is False
