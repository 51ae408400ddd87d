"""tools/quantize.py: INT8 post-training quantization, its accuracy gate and its bad inputs.

The OpenVINO (NNCF) tests carry the ``nncf`` marker: NNCF is installed in the default
stack only, and ``make test-openmmlab`` deselects them (``-m "not nncf"``). The ONNX
Runtime tests (its own quantization, in both stacks) run everywhere.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmseg_psp_ext.datasets.context_demo import generate_context_demo
from mmseg_psp_ext.deploy import build_backend, export_onnx
from mmseg_psp_ext.deploy.loading import load_segmentor
from mmseg_psp_ext.deploy.quantization import conv_layers, layer_groups
from test_infer import DEMO_CONFIG, FCN_CONFIG, REPO, load_tool, random_demo_model

SUFFIX = {'onnxruntime': '.onnx', 'openvino': '.xml'}
BACKENDS = [pytest.param('onnxruntime'),
            pytest.param('openvino', marks=pytest.mark.nncf)]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A 6 + 3 image demo set, a random-weight demo checkpoint and its dynamic export."""
    root = tmp_path_factory.mktemp('quant')
    generate_context_demo(str(root / 'data'), num_train=6, num_val=3, size=128, seed=5)
    checkpoint = root / 'demo.pth'
    model = random_demo_model()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    onnx_file = export_onnx(model, root / 'fp32.onnx', size=(128, 128), dynamic=True)
    options = ['--cfg-options'] + [
        f'{split}_dataloader.dataset.data_root={root / "data"}'
        for split in ('train', 'val', 'test')]
    return dict(root=root, checkpoint=checkpoint, onnx=onnx_file, options=options)


def quantize_tool(*args, monkeypatch=None, patch=None) -> int:
    """Runs tools/quantize.py in-process; ``patch(module)`` may replace its parts first."""
    tool = load_tool('quantize')
    if patch is not None:
        patch(tool)
    return tool.main([str(a) for a in args])


def check_nothing_written(out: Path) -> None:
    """No model file, no JSON and no staging folder left beside OUT."""
    assert not out.parent.exists() or not [p for p in out.parent.iterdir()
                                            if p.name.startswith((out.stem, f'.{out.name}'))]


@pytest.mark.parametrize('backend', BACKENDS)
def test_quantize_end_to_end_json_and_dynamic_sizes(tiny, tmp_path, backend, capsys):
    out = tmp_path / f'int8{SUFFIX[backend]}'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', backend,
                         '--onnx', tiny['onnx'], '--calib-images', 3, *tiny['options']) == 0
    printed = capsys.readouterr().out
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['backend'] == backend and record['size'] == 'dynamic'
    calibration = record['calibration']
    assert calibration['count'] == 3 and len(calibration['images']) == 3
    assert all('images/training/' in p for p in calibration['images'])
    assert calibration['seconds'] > 0
    evaluation = record['evaluation']
    assert evaluation['images'] == 3
    assert evaluation['drop'] == pytest.approx(
        evaluation['fp32_miou'] - evaluation['int8_miou'], abs=1e-3)
    assert 0.9 < evaluation['pixel_agreement'] <= 1.0
    assert f"drop {evaluation['drop']:.2f}" in printed
    if backend == 'openvino':
        assert out.with_suffix('.bin').is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]  # no staging left

    # A backend like the fp32 graph, at the calibrated size and at another odd size.
    model = load_segmentor(DEMO_CONFIG, str(tiny['checkpoint']))
    eager, int8 = build_backend('eager', model=model), build_backend(backend, out)
    generator = torch.Generator().manual_seed(2)
    for size in ((128, 128), (385, 517)):
        x = torch.randn(1, 3, *size, generator=generator)
        ref, got = eager(x), int8(x)
        assert got.shape == ref.shape == (1, 8, *size)
        assert (got.argmax(1) == ref.argmax(1)).mean() > 0.9, size


def test_quantized_weights_are_int8_and_float_layers_stay_float(tiny, tmp_path):
    """ONNX Runtime's QDQ graph: quantized convs get int8 weights, the kept ones do not."""
    import onnx
    from onnx import numpy_helper
    out = tmp_path / 'int8.onnx'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'onnxruntime',
                         '--onnx', tiny['onnx'], '--calib-images', 2, '--no-eval',
                         '--float-layers', 'decode_head.conv_seg', *tiny['options']) == 0
    graph = onnx.load(str(out)).graph
    producers = {o: n for n in graph.node for o in n.output}
    int8_inits = {i.name for i in graph.initializer
                  if numpy_helper.to_array(i).dtype == np.int8}
    quantized, kept = 0, 0
    for node in graph.node:
        if node.op_type != 'Conv':
            continue
        weight = producers.get(node.input[1])
        is_int8 = weight is not None and weight.op_type == 'DequantizeLinear' and \
            weight.input[0] in int8_inits
        if 'conv_seg' in node.input[1] or (weight is not None and not is_int8 and
                                           'conv_seg' in weight.input[0]):
            kept += 1
            assert not is_int8
        quantized += is_int8
    assert kept == 1 and quantized >= 20
    # The fast head's split bottleneck kernel is folded into constants and quantized too.
    assert any('bottleneck.conv.weight.part' in name for name in int8_inits)
    assert json.loads(out.with_suffix('.json').read_text())['float_layers'] == [
        'decode_head.conv_seg']


@pytest.mark.slow  # tools/test.py in subprocesses (MMEngine runner start-up)
@pytest.mark.parametrize('backend', BACKENDS)
def test_int8_backend_in_test_py_and_infer(tiny, tmp_path, backend, monkeypatch):
    """tools/test.py --backend gives the mIoU quantize.py reported; infer.py agrees with fp32."""
    out = tmp_path / f'int8{SUFFIX[backend]}'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', backend,
                         '--onnx', tiny['onnx'], '--calib-images', 3, *tiny['options']) == 0
    reported = json.loads(out.with_suffix('.json').read_text())['evaluation']['int8_miou']
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='2')
    for mode in ([], ['model.test_cfg.mode=slide', 'model.test_cfg.crop_size=[97,97]',
                      'model.test_cfg.stride=[64,64]']):
        result = subprocess.run(
            [sys.executable, 'tools/test.py', DEMO_CONFIG, str(tiny['checkpoint']),
             '--backend', backend, '--onnx', str(out), '--work-dir', str(tmp_path / 'work'),
             *tiny['options'], 'test_dataloader.num_workers=0',
             'test_dataloader.persistent_workers=False', *mode],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        miou = float(re.search(r'mIoU: ([\d.]+)', result.stdout + result.stderr).group(1))
        if not mode:  # the same model, images and test mode as quantize.py's evaluation
            assert miou == pytest.approx(reported, abs=0.011)
    images = tiny['root'] / 'data' / 'images' / 'validation'
    labels = {}
    for name, extra in (('fp32', []), ('int8', ['--backend', backend, '--onnx', out])):
        monkeypatch.setattr(sys, 'argv', ['infer.py', DEMO_CONFIG, str(tiny['checkpoint']),
                                          str(images), '--out', str(tmp_path / name),
                                          *map(str, extra)])
        assert load_tool('infer').main() == 0
        labels[name] = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                        for p in sorted((tmp_path / name / 'labels').glob('*.png'))]
    assert len(labels['int8']) == 3
    same = sum(int((a == b).sum()) for a, b in zip(labels['fp32'], labels['int8']))
    assert same / sum(a.size for a in labels['fp32']) > 0.9


def test_max_drop_keeps_groups_in_float_until_met(tiny, tmp_path, capsys):
    """The search keeps groups in float from the output back and stops when within limits.

    The INT8 evaluations are made to lose 1 mIoU point in the first two tries, to drive the
    search deterministically; quantization and the fp32 evaluation are real.
    """
    out = tmp_path / 'int8.onnx'

    def patch(tool):
        real, calls = tool.evaluate, []

        def evaluate(model, loader, evaluator_cfg, desc='evaluating'):
            result = real(model, loader, evaluator_cfg, desc)
            if desc == 'INT8 eval':
                calls.append(desc)
                if len(calls) <= 2:
                    result.metrics['mIoU'] = result.metrics['mIoU'] - 50.0
            return result
        tool.evaluate = evaluate

    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'onnxruntime',
                         '--onnx', tiny['onnx'], '--calib-images', 1, '--eval-images', 1,
                         '--max-drop', 1.0, *tiny['options'], patch=patch) == 0
    record = json.loads(out.with_suffix('.json').read_text())
    groups = layer_groups(conv_layers(str(tiny['onnx'])))
    assert groups[:3] == ['decode_head.conv_seg', 'decode_head.bottleneck',
                          'decode_head.psp_modules']
    # The default scope (the classifier), then one more group per failed try.
    assert record['tries'] == 3 and record['float_layers'] == groups[:3]
    assert record['evaluation']['drop'] <= 1.0
    assert 'in float: decode_head.conv_seg, decode_head.bottleneck, decode_head.psp_modules' \
        in capsys.readouterr().out


def test_max_drop_that_cannot_be_met_writes_nothing(tiny, tmp_path, capsys):
    out = tmp_path / 'models' / 'int8.onnx'

    def patch(tool):  # every INT8 evaluation 50 points down: no float scope helps
        real = tool.evaluate

        def evaluate(model, loader, evaluator_cfg, desc='evaluating'):
            result = real(model, loader, evaluator_cfg, desc)
            if desc == 'INT8 eval':
                result.metrics['mIoU'] = result.metrics['mIoU'] - 50.0
            return result
        tool.evaluate = evaluate
        tool.layer_groups = lambda layers: ['decode_head']

    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'onnxruntime',
                         '--onnx', tiny['onnx'], '--calib-images', 1, '--eval-images', 1,
                         '--max-drop', 0.5, *tiny['options'], patch=patch) == 1
    err = capsys.readouterr().err
    best = re.search(r'--max-drop 0.5 cannot be met: the best drop was ([\d.]+) mIoU points '
                     r'with (.+) in float; layer groups tried in float, from the output '
                     r'back: (.+); nothing was written', err)
    assert best and float(best.group(1)) > 40  # 50 points less the real drop, whatever it is
    assert best.group(3) == 'decode_head'
    assert 'nothing was written' in err
    check_nothing_written(out)


def write_images(folder: Path, count: int, channels: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        shape = (40, 48) if channels == 1 else (40, 48, channels)
        cv2.imwrite(str(folder / f'img{i}.png'), rng.integers(0, 255, shape, np.uint8))


@pytest.mark.parametrize('case', ['empty', 'gray', 'rgba', 'missing'])
def test_bad_calibration_folder(tiny, tmp_path, case, capsys):
    folder = tmp_path / 'calib'
    if case == 'empty':
        folder.mkdir()
        (folder / 'notes.txt').write_text('no images here')
    elif case in ('gray', 'rgba'):
        write_images(folder, 2, 3)
        write_images(folder / 'odd', 1, 1 if case == 'gray' else 4)
    out = tmp_path / 'out' / 'int8.onnx'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'onnxruntime',
                         '--calib-dir', folder, *tiny['options']) == 2
    err = capsys.readouterr().err
    expected = {'empty': f"calibration folder '{folder}' has no images",
                'missing': f"calibration folder '{folder}' does not exist",
                'gray': f"'{folder / 'odd' / 'img0.png'}' has 1 channel(s), the model takes 3",
                'rgba': f"'{folder / 'odd' / 'img0.png'}' has 4 channel(s), the model takes 3"}
    assert expected[case] in err
    check_nothing_written(out)


def test_checkpoint_of_another_model(tiny, tmp_path, capsys):
    checkpoint = tmp_path / 'fcn.pth'
    torch.save({'state_dict': random_demo_model(FCN_CONFIG).state_dict()}, checkpoint)
    out = tmp_path / 'out' / 'int8.onnx'
    assert quantize_tool(DEMO_CONFIG, checkpoint, out, '--backend', 'onnxruntime',
                         *tiny['options']) == 2
    err = capsys.readouterr().err
    assert f"checkpoint '{checkpoint}' does not fit the model" in err
    assert 'missing keys: decode_head.psp_modules' in err
    check_nothing_written(out)


def test_missing_nncf_names_the_extra(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'nncf', None)  # import nncf raises ImportError
    out = tmp_path / 'int8.xml'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'openvino',
                         *tiny['options']) == 2
    err = capsys.readouterr().err
    assert 'nncf is needed for INT8 quantization' in err
    assert "pip install -e '.[deploy]'" in err
    check_nothing_written(out)


def test_out_suffix_must_fit_the_backend(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit):
        quantize_tool(DEMO_CONFIG, tiny['checkpoint'], tmp_path / 'int8.onnx', '--backend',
                      'openvino')
    assert 'the openvino backend writes a .xml file' in capsys.readouterr().err


def test_web_demo_serves_the_int8_model(tiny, tmp_path, monkeypatch):
    gr = pytest.importorskip('gradio', reason='gradio is missing: pip install -e .[demo]')
    from mmseg_psp_ext.visualization import predict_label
    out = tmp_path / 'int8.onnx'
    assert quantize_tool(DEMO_CONFIG, tiny['checkpoint'], out, '--backend', 'onnxruntime',
                         '--onnx', tiny['onnx'], '--calib-images', 2, '--no-eval',
                         *tiny['options']) == 0
    web_demo = load_tool('web_demo')
    served = {}
    build_app = web_demo.build_app
    monkeypatch.setattr(web_demo, 'build_app',
                        lambda model, *a, **k: served.setdefault('model', model) and
                        build_app(model, *a, **k))
    monkeypatch.setattr(gr.Blocks, 'launch', lambda app, **kwargs: None)
    web_demo.main([DEMO_CONFIG, str(tiny['checkpoint']), '--backend', 'onnxruntime',
                   '--onnx', str(out)])
    model = served['model']
    assert 'encode_decode' in vars(model)  # the graph runs instead of PyTorch
    image = cv2.imread(str(sorted((tiny['root'] / 'data' / 'images' / 'validation')
                                  .glob('*.jpg'))[0]))[:, :, ::-1]
    int8 = predict_label(model, image)
    fp32 = predict_label(load_segmentor(DEMO_CONFIG, str(tiny['checkpoint'])), image)
    assert int8.shape == fp32.shape == image.shape[:2]
    assert (int8 == fp32).mean() > 0.9
