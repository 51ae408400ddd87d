"""tools/infer.py: label PNGs as tools/test.py --out, overlays with legend, folders, video."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_psp_ext.datasets.context_demo import generate_context_demo
from mmseg_psp_ext.deploy.loading import CheckpointError, load_segmentor
from mmseg_psp_ext.visualization import colorize, legend_width, overlay, overlay_with_legend

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = 'configs/demo/pspnet_r18_context_demo.py'
FCN_CONFIG = 'configs/demo/fcn_r18_context_demo.py'


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name: str, *args, monkeypatch) -> int:
    monkeypatch.setattr(sys, 'argv', [f'{name}.py', *map(str, args)])
    return load_tool(name).main()


def random_demo_model(config: str = DEMO_CONFIG, seed: int = 0) -> nn.Module:
    """The demo model with random weights whose predictions vary across the image."""
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(str(REPO / config)).model)
    # A wide classifier without bias: several classes per image, in every test mode.
    nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)
    nn.init.zeros_(model.decode_head.conv_seg.bias)
    return model.eval()


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """A 4-image demo validation set and a random-weight demo checkpoint."""
    root = tmp_path_factory.mktemp('demo')
    generate_context_demo(str(root / 'data'), num_train=1, num_val=4, size=128, seed=3)
    checkpoint = root / 'demo.pth'
    torch.save({'state_dict': random_demo_model().state_dict(), 'meta': {}}, checkpoint)
    return root / 'data', checkpoint


AUTHORS_MODE = ['model.type=PSPEncoderDecoder', 'model.test_cfg.mode=authors',
                'model.test_cfg.crop_size=[97,97]', 'model.test_cfg.base_size=150']


@pytest.mark.slow  # runs tools/test.py in a subprocess (MMEngine runner start-up)
@pytest.mark.parametrize('mode_options', [[], AUTHORS_MODE], ids=['whole', 'authors'])
def test_labels_equal_test_py_out(demo, tmp_path, monkeypatch, mode_options):
    data_root, checkpoint = demo
    options = [f'test_dataloader.dataset.data_root={data_root}',
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
               *mode_options]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='2')
    result = subprocess.run(
        [sys.executable, 'tools/test.py', DEMO_CONFIG, str(checkpoint), '--out',
         str(tmp_path / 'test_out'), '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *options], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert run_tool('infer', DEMO_CONFIG, checkpoint, data_root / 'images' / 'validation',
                    '--out', tmp_path / 'infer',
                    *(['--cfg-options', *mode_options] if mode_options else []),
                    monkeypatch=monkeypatch) == 0
    expected = sorted((tmp_path / 'test_out').glob('*.png'))
    assert len(expected) == 4
    classes_seen = set()
    for reference in expected:
        ours = cv2.imread(str(tmp_path / 'infer' / 'labels' / reference.name),
                          cv2.IMREAD_UNCHANGED)
        theirs = cv2.imread(str(reference), cv2.IMREAD_UNCHANGED)
        assert ours.dtype == np.uint8 and ours.shape == theirs.shape == (128, 128)
        np.testing.assert_array_equal(ours, theirs)
        classes_seen |= set(np.unique(ours).tolist())
    assert len(classes_seen) > 1  # the comparison is not between two constant maps
    assert 0 not in classes_seen  # reduce_zero_label: class i is written as i + 1


def test_outputs_sizes_and_overlay_content(demo, tmp_path, monkeypatch):
    """A folder of mixed sizes, nested; overlays match their labels pixel by pixel."""
    data_root, checkpoint = demo
    source = sorted((data_root / 'images' / 'validation').glob('*.jpg'))
    folder = tmp_path / 'mixed'
    (folder / 'nested').mkdir(parents=True)
    sizes = {'a.jpg': (128, 128), 'b.png': (97, 130), 'nested/c.jpg': (150, 90)}
    for (name, (height, width)), path in zip(sizes.items(), source):
        cv2.imwrite(str(folder / name), cv2.resize(cv2.imread(str(path)), (width, height)))
    assert run_tool('infer', DEMO_CONFIG, checkpoint, folder, '--out', tmp_path / 'out',
                    '--opacity', 0.6, monkeypatch=monkeypatch) == 0
    model = load_segmentor(str(REPO / DEMO_CONFIG), str(checkpoint))
    palette = model.dataset_meta['palette']
    for name, (height, width) in sizes.items():
        png = Path(name).with_suffix('.png')
        labels = cv2.imread(str(tmp_path / 'out' / 'labels' / png), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(tmp_path / 'out' / 'masks' / png))
        written = cv2.imread(str(tmp_path / 'out' / 'overlays' / png))
        assert labels.shape == (height, width)
        assert mask.shape == (height, width, 3)
        assert written.shape == (height, width + legend_width(height), 3)
        classes = labels.astype(np.int64) - 1
        np.testing.assert_array_equal(mask, colorize(classes, palette)[:, :, ::-1])
        image_rgb = cv2.imread(str(folder / name))[:, :, ::-1]
        np.testing.assert_array_equal(written[:, :width, ::-1],
                                      overlay(image_rgb, classes, palette, 0.6))


def test_overlay_and_legend_follow_the_prediction():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    classes, palette = ['sky', 'road', 'car'], [[0, 0, 255], [128, 128, 128], [255, 0, 0]]
    labels = np.zeros((60, 80), np.int64)
    other = labels.copy()
    other[10:30, 20:50] = 2
    first = overlay_with_legend(image, labels, classes, palette, 0.5)
    second = overlay_with_legend(image, other, classes, palette, 0.5)
    assert first.shape == second.shape == (60, 80 + legend_width(60), 3)
    changed = np.any(first[:, :80] != second[:, :80], axis=2)
    np.testing.assert_array_equal(changed, other != labels)
    # The legend names only the classes present: it changes when "car" appears.
    assert np.any(first[:, 80:] != second[:, 80:])
    assert overlay_with_legend(image, labels, classes, palette, 0.0)[:, :80].tolist() == \
        image.tolist()
    large = overlay_with_legend(np.zeros((1024, 700, 3), np.uint8),
                                np.zeros((1024, 700), np.int64), classes, palette)
    assert large.shape == (1024, 700 + legend_width(1024), 3)
    assert legend_width(1024) > legend_width(60)


def test_video_round_trip(demo, tmp_path, monkeypatch):
    data_root, checkpoint = demo
    frames = [cv2.imread(str(p)) for p in
              sorted((data_root / 'images' / 'validation').glob('*.jpg'))[:3]]
    video = tmp_path / 'clip.avi'  # MJPG: written and read by every OpenCV build
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 5, (128, 128))
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert run_tool('infer', DEMO_CONFIG, checkpoint, video, '--out', tmp_path / 'out',
                    monkeypatch=monkeypatch) == 0
    capture = cv2.VideoCapture(str(tmp_path / 'out' / 'clip_overlay.mp4'))
    assert capture.isOpened()
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(5)
    read = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        read.append(frame)
    capture.release()
    assert len(read) == 3
    assert all(f.shape == (128, 128 + legend_width(128), 3) for f in read)
    # Each written frame is (up to the codec) the overlay of its own input frame.
    source = cv2.VideoCapture(str(video))
    decoded = [source.read()[1] for _ in range(3)]
    source.release()
    tool = load_tool('infer')
    model = load_segmentor(str(REPO / DEMO_CONFIG), str(checkpoint))
    predictor = tool.SegPredictor(model)
    writer = tool.Writer(tmp_path, model, model.dataset_meta['palette'], 0.5)
    expected = [writer.overlay(f, predictor.labels(f)) for f in decoded]
    for i, frame in enumerate(read):
        errors = [np.abs(frame.astype(int) - e.astype(int)).mean() for e in expected]
        assert int(np.argmin(errors)) == i and errors[i] < 8, errors


def test_wrong_or_broken_checkpoint_is_named(demo, tmp_path, monkeypatch, capsys):
    _, checkpoint = demo
    fcn = tmp_path / 'fcn.pth'
    torch.save({'state_dict': random_demo_model(FCN_CONFIG).state_dict()}, fcn)
    with pytest.raises(CheckpointError, match=r'fcn\.pth.*missing keys: decode_head\.'
                       r'psp_modules.*bottleneck\.conv\.weight'):
        load_segmentor(str(REPO / DEMO_CONFIG), str(fcn))
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(checkpoint.read_bytes()[:4096])
    with pytest.raises(CheckpointError, match='broken.pth.*not a readable'):
        load_segmentor(str(REPO / DEMO_CONFIG), str(broken))
    not_weights = tmp_path / 'list.pth'
    torch.save({'state_dict': {'a': [1, 2]}}, not_weights)
    with pytest.raises(CheckpointError, match='list.pth'):
        load_segmentor(str(REPO / DEMO_CONFIG), str(not_weights))
    image = tmp_path / 'x.png'
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    for tool, extra in (('infer', [image]), ('export_onnx', [tmp_path / 'x.onnx'])):
        assert run_tool(tool, DEMO_CONFIG, fcn, *extra, monkeypatch=monkeypatch) == 2
        assert 'fcn.pth' in capsys.readouterr().err
    assert not (tmp_path / 'x.onnx').exists()


def test_more_than_255_classes_give_16_bit_labels(tmp_path):
    tool = load_tool('infer')
    model = random_demo_model()
    model.dataset_meta = dict(classes=[str(i) for i in range(300)], reduce_zero_label=False)
    model.decode_head.num_classes = 300
    writer = tool.Writer(tmp_path, model, [[0, 0, 0]] * 300, 0.5)
    labels = np.array([[0, 299]])
    out = writer.label_image(labels)
    assert out.dtype == np.uint16 and out.tolist() == [[0, 299]]
    tool.encode_png(tmp_path / 'l.png', out)
    assert cv2.imread(str(tmp_path / 'l.png'), cv2.IMREAD_UNCHANGED).tolist() == [[0, 299]]


@pytest.mark.slow
def test_export_tool_and_onnx_backends_match_eager(demo, tmp_path, monkeypatch, capsys):
    """export_onnx.py --dynamic verifies itself; infer.py on ONNX Runtime and OpenVINO
    gives the labels of the eager model."""
    data_root, checkpoint = demo
    onnx_file = tmp_path / 'demo.onnx'
    assert run_tool('export_onnx', DEMO_CONFIG, checkpoint, onnx_file, '--dynamic',
                    '--size', 128, 128, '--openvino', monkeypatch=monkeypatch) == 0
    printed = capsys.readouterr().out
    assert printed.count('OK') == 4 and 'relative diff' in printed  # 2 sizes x 2 backends
    images = data_root / 'images' / 'validation'
    assert run_tool('infer', DEMO_CONFIG, checkpoint, images, '--out', tmp_path / 'eager',
                    monkeypatch=monkeypatch) == 0
    for backend in ('onnxruntime', 'openvino'):
        assert run_tool('infer', DEMO_CONFIG, checkpoint, images, '--out', tmp_path / backend,
                        '--backend', backend, '--onnx', onnx_file,
                        monkeypatch=monkeypatch) == 0
        for eager in sorted((tmp_path / 'eager' / 'labels').glob('*.png')):
            ours = cv2.imread(str(tmp_path / backend / 'labels' / eager.name),
                              cv2.IMREAD_UNCHANGED)
            assert (ours == cv2.imread(str(eager), cv2.IMREAD_UNCHANGED)).mean() > 0.999
    # The authors' protocol drives the exported graph window by window (batch of 2 with
    # the flipped copy, crop 97x97).
    for backend in ('eager', 'onnxruntime'):
        assert run_tool('infer', DEMO_CONFIG, checkpoint, images, '--out',
                        tmp_path / f'authors_{backend}', '--backend', backend, '--onnx',
                        onnx_file, '--cfg-options', *AUTHORS_MODE,
                        monkeypatch=monkeypatch) == 0
    for eager in sorted((tmp_path / 'authors_eager' / 'labels').glob('*.png')):
        ours = cv2.imread(str(tmp_path / 'authors_onnxruntime' / 'labels' / eager.name),
                          cv2.IMREAD_UNCHANGED)
        assert (ours == cv2.imread(str(eager), cv2.IMREAD_UNCHANGED)).mean() > 0.999


def test_mmseg_apis_with_our_config(demo, tmp_path):
    """The README's OpenMMLab way: init_model / inference_model / MMSegInferencer."""
    from mmseg.apis import MMSegInferencer, inference_model, init_model

    from mmseg_psp_ext.datasets.context_demo import CLASSES, PALETTE
    data_root, _ = demo
    checkpoint = tmp_path / 'with_meta.pth'
    meta = dict(dataset_meta=dict(classes=CLASSES, palette=PALETTE))
    torch.save({'state_dict': random_demo_model().state_dict(), 'meta': meta}, checkpoint)
    config = str(REPO / DEMO_CONFIG)
    image = sorted((data_root / 'images' / 'validation').glob('*.jpg'))[0]
    model = init_model(config, str(checkpoint), device='cpu')
    labels = inference_model(model, str(image)).pred_sem_seg.data[0].numpy()
    predictor_labels = load_tool('infer').SegPredictor(
        load_segmentor(config, str(checkpoint))).labels(image)
    np.testing.assert_array_equal(labels, predictor_labels)
    inferencer = MMSegInferencer(model=config, weights=str(checkpoint), device='cpu')
    result = inferencer(str(image), out_dir=str(tmp_path / 'out'))
    np.testing.assert_array_equal(result['predictions'], labels)
    assert len(list((tmp_path / 'out' / 'vis').glob('*'))) == 1


def test_bf16_and_fused_conv_bn(demo, tmp_path, monkeypatch):
    data_root, checkpoint = demo
    images = data_root / 'images' / 'validation'
    assert run_tool('infer', DEMO_CONFIG, checkpoint, images, '--out', tmp_path / 'fp32',
                    monkeypatch=monkeypatch) == 0
    assert run_tool('infer', DEMO_CONFIG, checkpoint, images, '--out', tmp_path / 'bf16',
                    '--dtype', 'bf16', '--fuse-conv-bn', monkeypatch=monkeypatch) == 0
    agreement = []
    for fp32 in sorted((tmp_path / 'fp32' / 'labels').glob('*.png')):
        bf16 = cv2.imread(str(tmp_path / 'bf16' / 'labels' / fp32.name), cv2.IMREAD_UNCHANGED)
        agreement.append((bf16 == cv2.imread(str(fp32), cv2.IMREAD_UNCHANGED)).mean())
    assert len(agreement) == 4 and np.mean(agreement) > 0.9, agreement


@pytest.mark.parametrize('mode_options', [{}, {
    'model.type': 'PSPEncoderDecoder', 'model.test_cfg.mode': 'authors',
    'model.test_cfg.crop_size': (97, 97), 'model.test_cfg.base_size': 150}],
    ids=['whole', 'authors'])
def test_backend_drives_the_segmentors_predict(demo, mode_options):
    """With a backend attached, every logit the segmentor uses comes from the backend."""
    from mmseg_psp_ext.deploy.predictor import SegPredictor, attach_backend
    data_root, checkpoint = demo
    model = load_segmentor(str(REPO / DEMO_CONFIG), str(checkpoint), cfg_options=mode_options)
    shapes = []

    def fake_backend(inputs):
        shapes.append(tuple(inputs.shape))
        logits = np.zeros((inputs.shape[0], 8, *inputs.shape[2:]), np.float32)
        logits[:, 3] = 1.0
        return logits

    predictor = SegPredictor(attach_backend(model, fake_backend))
    image = sorted((data_root / 'images' / 'validation').glob('*.jpg'))[0]
    labels = predictor.labels(image)
    assert labels.shape == (128, 128) and (labels == 3).all()
    if mode_options:  # windows of 97x97 with their flipped copies
        assert shapes and all(s == (2, 3, 97, 97) for s in shapes)
    else:  # the whole image after the test pipeline's Resize to 256
        assert shapes == [(1, 3, 256, 256)]


CONFIGS = sorted(str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_has_what_inference_needs(config):
    """Test pipeline without labels, class names and a palette for every output class."""
    from mmseg_psp_ext.deploy.loading import dataset_metainfo
    from mmseg_psp_ext.deploy.predictor import test_pipeline_cfg
    cfg = Config.fromfile(str(REPO / config))
    pipeline = test_pipeline_cfg(cfg)
    assert pipeline[0]['type'] == 'LoadImageFromFile'
    assert all(t['type'] != 'LoadAnnotations' for t in pipeline)
    meta = dataset_metainfo(cfg)
    num_classes = cfg.model.decode_head.num_classes
    assert len(meta['classes']) == num_classes
    assert len(meta['palette']) >= num_classes
    assert meta['reduce_zero_label'] == ('ade' in config or 'context' in config)


def test_palette_choice(capsys):
    tool = load_tool('infer')
    model = random_demo_model()
    model.dataset_meta = dict(palette=[[1, 2, 3]] * 8)
    assert tool.choose_palette(None, model) == [[1, 2, 3]] * 8
    assert len(tool.choose_palette('cityscapes', model)) == 19
    assert len(tool.choose_palette('random', model)) == 8
    with pytest.raises(SystemExit, match='nonexistent'):
        tool.choose_palette('nonexistent', model)
