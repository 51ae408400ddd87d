"""A user's folder as a dataset: layouts, class lists, encodings, bad input, conversion,
the config written by tools/folder_dataset.py and predictions written back."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmseg_psp_ext.datasets.folder import (FolderDatasetError, encode_labels, find_layout,
                                           inspect_folder, read_classes)
from mmseg_psp_ext.datasets.folder.convert import CONVERTED_DIR, convert_mask, convert_masks

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = str(REPO / 'configs/demo/pspnet_r18_context_demo.py')
COLOURS = [(200, 0, 0), (0, 160, 0), (0, 0, 220)]


def labels_of(i: int, k: int = 3, size: int = 16) -> np.ndarray:
    """A label map with every class 0..k-1 (bands) and an ignored corner."""
    yy = np.arange(size)[:, None].repeat(size, 1)
    labels = ((yy + i) * k // size % k).astype(np.uint8)
    labels[:2, :2] = 255
    return labels


def write_pair(root: Path, img_rel: str, mask_rel: str, mask: np.ndarray,
               mode: str = None, palette=None) -> None:
    img_path, mask_path = root / img_rel, root / mask_rel
    img_path.parent.mkdir(parents=True, exist_ok=True)
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    h, w = mask.shape[:2]
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(img_path)
    image = Image.fromarray(mask)
    if palette is not None:
        image.putpalette(palette)
    image.save(mask_path)


def index_folder(root: Path, n: int = 6, offset: int = 0, k: int = 3) -> Path:
    for i in range(n):
        labels = labels_of(i, k)
        if offset:
            labels = np.where(labels == 255, 0, labels + 1).astype(np.uint8)
        write_pair(root, f'images/im{i}.jpg', f'masks/im{i}.png', labels)
    return root


def rgb_folder(root: Path, n: int = 6, table: bool = True) -> Path:
    colours = np.array(COLOURS + [(0, 0, 0)], np.uint8)
    for i in range(n):
        labels = labels_of(i)
        labels[labels == 255] = 3
        write_pair(root, f'images/im{i}.png', f'masks/im{i}.png', colours[labels])
    if table:
        (root / 'classes.csv').write_text(
            'name,r,g,b\ncat,200,0,0\ndog,0,160,0\nbird,#0000dc\nignore,0,0,0\n')
    return root


def snapshot(root: Path) -> dict:
    return {str(p): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


# ------------------------------------------------------------------------------ layouts
@pytest.mark.parametrize('layout', ['flat', 'voc_lists', 'inner', 'outer', 'outer_mixed',
                                    'nested'])
def test_layouts_pair_by_name_and_split(tmp_path, layout):
    root = tmp_path / 'data'
    mask = labels_of(0)
    if layout == 'flat':
        for i in range(10):
            write_pair(root, f'images/a{i}.{"jpg" if i % 2 else "png"}', f'masks/a{i}.png', mask)
        expect = None
    elif layout == 'voc_lists':
        for i in range(4):
            write_pair(root, f'JPEGImages/b{i}.jpg', f'SegmentationClass/b{i}.png', mask)
        (root / 'ImageSets/Segmentation').mkdir(parents=True)
        (root / 'ImageSets/Segmentation/train.txt').write_text('b0\nb1\nb2\n')
        (root / 'ImageSets/Segmentation/val.txt').write_text('b3\n')
        expect = {'train': 3, 'val': 1}
    elif layout == 'inner':
        for split, n in (('train', 3), ('val', 2)):
            for i in range(n):
                write_pair(root, f'img_dir/{split}/c{i}.jpg', f'ann_dir/{split}/c{i}.png', mask)
        expect = {'train': 3, 'val': 2}
    elif layout == 'outer':
        for split, n in (('training', 2), ('validation', 1)):
            for i in range(n):
                write_pair(root, f'{split}/images/d{i}.jpg', f'{split}/labels/d{i}.png', mask)
        expect = {'train': 2, 'val': 1}
    elif layout == 'outer_mixed':  # other folder names in each split
        write_pair(root, 'train/images/f0.jpg', 'train/labels/f0.png', mask)
        write_pair(root, 'train/images/f1.jpg', 'train/labels/f1.png', mask)
        write_pair(root, 'val/img/f2.jpg', 'val/gt/f2.png', mask)
        expect = {'train': 2, 'val': 1}
        assert find_layout(str(root)).record()['images'] is None
    else:
        for i in range(4):
            write_pair(root, f'imgs/site{i % 2}/e{i}.jpg', f'annotations/site{i % 2}/e{i}.png',
                       mask)
        expect = None
    found = find_layout(str(root), val_fraction=0.3)
    counts = {s: sum(p.split == s for p in found.pairs) for s in ('train', 'val')}
    if expect:
        assert counts == expect
    else:  # hash split: deterministic, both splits present
        assert counts['val'] >= 1 and counts['train'] >= 1
        again = find_layout(str(root), val_fraction=0.3)
        assert [p.split for p in again.pairs] == [p.split for p in found.pairs]
    for pair in found.pairs:
        assert Path(pair.image).stem == Path(pair.mask).stem
    assert not found.unpaired_images and not found.unpaired_masks


def test_hash_split_keeps_one_pair_in_each_split(tmp_path):
    root = index_folder(tmp_path / 'data', n=2)
    for fraction in (0.01, 0.99):
        found = find_layout(str(root), val_fraction=fraction)
        assert sorted(p.split for p in found.pairs) == ['train', 'val']


# ------------------------------------------------------------------------------ classes
def test_class_files(tmp_path):
    (tmp_path / 'classes.txt').write_text('# names\nsky\n\nroad\n')
    assert read_classes(str(tmp_path)).names == ['sky', 'road']
    os.remove(tmp_path / 'classes.txt')
    (tmp_path / 'classes.json').write_text(json.dumps(
        [{'name': 'sky', 'color': '#0a0b0c'}, {'name': 'road', 'colour': [1, 2, 3]},
         {'name': 'void', 'color': [0, 0, 0]}]))
    table = read_classes(str(tmp_path))
    assert table.colours == [(10, 11, 12), (1, 2, 3)] and table.ignore_colours == [(0, 0, 0)]
    assert read_classes(str(tmp_path), ['a', 'b']).names == ['a', 'b']  # --classes wins
    (tmp_path / 'classes.json').write_text(json.dumps({'sky': [1, 2, 300]}))
    with pytest.raises(FolderDatasetError, match=r'classes\.json.*colour'):
        read_classes(str(tmp_path))
    os.remove(tmp_path / 'classes.json')
    (tmp_path / 'classes.csv').write_text('sky,1,2,3\nsky,4,5,6\n')
    with pytest.raises(FolderDatasetError, match="'sky' is listed twice"):
        read_classes(str(tmp_path))


# ---------------------------------------------------------------------------- encodings
def test_index_masks_with_class_list(tmp_path):
    root = index_folder(tmp_path / 'data')
    (root / 'classes.txt').write_text('a\nb\nc\n')
    ins = inspect_folder(str(root), progress=False)
    assert ins.encoding['kind'] == 'index' and not ins.encoding['reduce_zero_label']
    assert ins.names == ['a', 'b', 'c'] and (ins.pixels['train'] > 0).all()


def test_zero_as_unlabelled_is_decided_by_the_class_list_or_asked(tmp_path):
    root = index_folder(tmp_path / 'data', offset=1)  # classes 1..3, 0 = unlabelled
    with pytest.raises(FolderDatasetError, match='--reduce-zero-label'):
        inspect_folder(str(root), progress=False)
    ins = inspect_folder(str(root), classes=['a', 'b', 'c'], progress=False)
    assert ins.encoding['reduce_zero_label'] and ins.encoding['kind'] == 'index'
    ins = inspect_folder(str(root), reduce_zero_label=True, progress=False)
    assert len(ins.names) == 3 and ins.ignored['train'] + ins.ignored['val'] > 0
    ins = inspect_folder(str(root), reduce_zero_label=False, progress=False)
    assert len(ins.names) == 4  # 0 is a class: 0..3


@pytest.mark.parametrize('high', [255, 1])
def test_binary_masks(tmp_path, high):
    root = tmp_path / 'data'
    for i in range(4):
        write_pair(root, f'images/m{i}.jpg', f'masks/m{i}.png',
                   (labels_of(i, 2) % 255 * high).astype(np.uint8))
    ins = inspect_folder(str(root), progress=False)
    assert ins.names == ['background', 'foreground']
    assert ins.encoding['kind'] == ('binary' if high == 255 else 'index')
    if high == 255:
        mask = next(p for p in ins.layout.pairs).mask
        assert set(np.unique(convert_mask(mask, ins.encoding))) == {0, 1}


def test_palette_masks_keep_indices_and_palette(tmp_path):
    root = tmp_path / 'data'
    palette = [0, 0, 0, 250, 0, 0, 0, 250, 0, 0, 0, 250] + [0] * (768 - 12)
    for i in range(4):
        labels = np.where(labels_of(i) == 255, 0, labels_of(i) + 1).astype(np.uint8)
        write_pair(root, f'images/p{i}.jpg', f'masks/p{i}.png', labels, palette=palette)
    ins = inspect_folder(str(root), classes=['r', 'g', 'b'], progress=False)
    assert ins.encoding['kind'] == 'palette' and ins.encoding['reduce_zero_label']
    assert ins.decision.palette == [[250, 0, 0], [0, 250, 0], [0, 0, 250]]


def test_rgb_masks_with_and_without_a_colour_table(tmp_path):
    ins = inspect_folder(str(rgb_folder(tmp_path / 'a')), progress=False)
    assert ins.encoding['kind'] == 'rgb' and ins.names == ['cat', 'dog', 'bird']
    assert ins.ignored['train'] > 0  # black is "ignore"
    ins = inspect_folder(str(rgb_folder(tmp_path / 'b', table=False)), progress=False)
    assert ins.names == ['#000000', '#0000dc', '#00a000', '#c80000']  # each colour a class
    assert 'named by its hex code' in ins.report()


def test_report_counts_and_oddities(tmp_path):
    root = index_folder(tmp_path / 'data', n=8)
    write_pair(root, 'images/big.jpg', 'masks/big.png', np.zeros((64, 64), np.uint8))
    ins = inspect_folder(str(root), classes=['a', 'b', 'c', 'never'], progress=False)
    report = ins.report()
    assert 'pairs: 9' in report and "class 'never' has no pixel" in report
    assert 'big: 64x64, much larger than the rest' in report
    weights = ins.class_weights()
    assert len(weights) == 4 and weights[3] == 10.0


# ---------------------------------------------------------------------------- bad input
def bad(root: Path, **kwargs) -> str:
    before = snapshot(root) if root.exists() else {}
    with pytest.raises(FolderDatasetError) as info:
        inspect_folder(str(root), progress=False, **kwargs)
    assert (snapshot(root) if root.exists() else {}) == before  # nothing changed
    return str(info.value)


def test_bad_input_is_named_before_anything_is_written(tmp_path):
    root = index_folder(tmp_path / 'size')
    write_pair(root, 'images/odd.jpg', 'masks/odd.png', np.zeros((16, 16), np.uint8))
    Image.fromarray(np.zeros((20, 16, 3), np.uint8)).save(root / 'images/odd.jpg')
    assert 'odd.png: label map is 16x16' in bad(root, classes=['a', 'b', 'c'])

    root = index_folder(tmp_path / 'lonely')
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / 'images/alone.jpg')
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / 'masks/orphan.png')
    message = bad(root, classes=['a', 'b', 'c'])
    assert 'alone.jpg: image without a mask' in message
    assert 'orphan.png: mask without an image' in message and '--allow-unpaired' in message

    root = index_folder(tmp_path / 'values', k=5)
    message = bad(root, classes=['a', 'b', 'c'])
    assert 'values 3 (' in message and 'outside the classes' in message

    root = rgb_folder(tmp_path / 'colours', table=False)
    assert '4 distinct colours in the masks but 2 classes' in bad(root, classes=['x', 'y'])
    (root / 'classes.csv').write_text('cat,200,0,0\ndog,0,160,0\n')
    message = bad(root)
    assert 'colour #0000dc (0, 0, 220) (' in message and 'im0' in message

    root = index_folder(tmp_path / 'jpeg')
    Image.fromarray(labels_of(0)).save(root / 'masks/im0.jpg')
    os.remove(root / 'masks/im0.png')
    assert 'im0.jpg: a JPEG mask' in bad(root, classes=['a', 'b', 'c'])

    (tmp_path / 'empty').mkdir()
    assert 'the folder is empty' in bad(tmp_path / 'empty')

    root = index_folder(tmp_path / 'junk')
    (root / 'masks/notes.docx').write_text('x')
    assert 'notes.docx' in bad(root, classes=['a', 'b', 'c'])

    root = tmp_path / 'photo'
    rng = np.random.default_rng(0)
    for i in range(2):
        write_pair(root, f'images/q{i}.jpg', f'masks/q{i}.png',
                   rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    assert 'q0: more than 1024 colours' in bad(root)


# ---------------------------------------------------------------------------- conversion
def test_conversion_goes_beside_the_originals_never_over_them(tmp_path):
    root = rgb_folder(tmp_path / 'data')
    before = snapshot(root)
    ins = inspect_folder(str(root), progress=False)
    out = root / CONVERTED_DIR
    convert_masks(ins.layout.pairs, str(out), str(root), ins.encoding, nproc=1,
                  progress=False)
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k in before} == before
    converted = np.asarray(Image.open(out / 'masks/im0.png'))
    expected = labels_of(0)
    assert np.array_equal(converted, expected)
    convert_masks(ins.layout.pairs, str(out), str(root), ins.encoding, 1, False)  # ours: ok
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'precious.png').write_bytes(b'x')
    with pytest.raises(FolderDatasetError, match='not overwritten'):
        convert_masks(ins.layout.pairs, str(mine), str(root), ins.encoding, 1, False)


@pytest.mark.parametrize('kind', ['index', 'rzl', 'binary', 'palette', 'rgb'])
def test_predictions_are_written_back_in_the_users_encoding(kind):
    labels = labels_of(1)
    labels[labels == 255] = 0
    encoding = dict(kind='index', reduce_zero_label=kind == 'rzl', ignore_index=255,
                    num_classes=3)
    if kind == 'binary':
        labels = labels % 2
        encoding = dict(kind='binary', values=[0, 255], reduce_zero_label=False,
                        ignore_index=255, num_classes=2)
    if kind == 'palette':
        encoding.update(kind='palette', palette=[[0, 0, 0], [9, 9, 9], [1, 2, 3]])
    if kind == 'rgb':
        encoding = dict(kind='rgb', colours=[list(c) for c in COLOURS], ignore_colours=[],
                        reduce_zero_label=False, ignore_index=255, num_classes=3)
    image = encode_labels(labels, encoding)
    array = np.asarray(image)
    if kind == 'rgb':
        assert image.mode == 'RGB'
        assert np.array_equal(array, np.array(COLOURS, np.uint8)[labels])
    elif kind == 'binary':
        assert set(np.unique(array)) == {0, 255} and np.array_equal(array // 255, labels)
    else:
        assert image.mode == ('P' if kind == 'palette' else 'L')
        assert np.array_equal(array, labels + (kind == 'rzl'))
        if kind == 'palette':
            assert image.getpalette()[3:6] == [9, 9, 9]


# ---------------------------------------------------------------------- config and tool
def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_writes_a_config_the_framework_builds(tmp_path, capsys):
    from mmseg.registry import DATASETS, MODELS
    root = rgb_folder(tmp_path / 'data', n=8)
    before = snapshot(root)
    out = tmp_path / 'cfg' / 'mine.py'
    assert load_tool('folder_dataset').main(
        [str(root), '--out', str(out), '--base', DEMO_CONFIG, '--iters', '40',
         '--freeze-backbone', '--class-weight', 'auto', '--amp', '--no-progress']) == 0
    printed = capsys.readouterr().out
    assert 'Mask encoding: rgb' in printed and 'Converted 8 masks' in printed
    assert all(snapshot(root)[k] == v for k, v in before.items())
    cfg = Config.fromfile(str(out))
    assert cfg.model.decode_head.num_classes == cfg.model.auxiliary_head.num_classes == 3
    assert cfg.train_cfg.max_iters == 40 and cfg.train_cfg.val_interval == 10
    assert cfg.param_scheduler[0]['end'] == 40
    assert cfg.crop_size == (16, 16) and cfg.optim_wrapper.type == 'AnyDeviceAmpOptimWrapper'
    assert len(cfg.model.decode_head.loss_decode.class_weight) == 3
    assert cfg.mask_encoding['kind'] == 'rgb'
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) + len(DATASETS.build(cfg.val_dataloader.dataset)) == 8
    assert dataset.metainfo['classes'] == ('cat', 'dog', 'bird')
    sample = dataset[0]
    values = set(np.unique(sample['data_samples'].gt_sem_seg.data.numpy()).tolist())
    assert values <= {0, 1, 2, 255}
    model = MODELS.build(cfg.model)
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    bns = [m for m in model.backbone.modules() if 'BatchNorm' in type(m).__name__]
    assert bns and not any(m.training for m in bns)


def test_default_base_is_the_zoo_config_with_its_checkpoint(tmp_path):
    root = index_folder(tmp_path / 'data')
    out = tmp_path / 'zoo.py'
    assert load_tool('folder_dataset').main(
        [str(root), '--out', str(out), '--classes', 'a', 'b', 'c', '--no-progress']) == 0
    cfg = Config.fromfile(str(out))
    assert cfg.load_from.endswith('pspnet_r50-d8_512x512_80k_ade20k_20200615_014128-15a8b914.pth')
    assert cfg.model.decode_head.num_classes == 3 and cfg.model.backbone.init_cfg is None
    assert cfg.train_dataloader.dataset.seg_root is None  # index masks: used as they are
    assert not (root / CONVERTED_DIR).exists()


def test_tool_reports_bad_input_and_exits_1(tmp_path, capsys):
    root = index_folder(tmp_path / 'data', offset=1)
    out = tmp_path / 'x.py'
    assert load_tool('folder_dataset').main([str(root), '--out', str(out),
                                             '--no-progress']) == 1
    assert '--no-reduce-zero-label' in capsys.readouterr().err and not out.exists()


def test_generator_writes_a_user_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'photos'
    monkeypatch.setattr(sys, 'argv', ['generate_context_demo.py', str(out), '--user-folder',
                                      '--num-images', '8', '--size', '64'])
    assert load_tool('generate_context_demo').main() == 0
    assert 'Wrote 8 pairs' in capsys.readouterr().out
    assert len(list((out / 'images').glob('*.jpg'))) == 8
    mask = Image.open(out / 'masks' / 'photo_0000.png')
    assert mask.mode == 'RGB'
    ins = inspect_folder(str(out), progress=False)
    assert ins.encoding['kind'] == 'rgb' and ins.names[-2:] == ['vehicle', 'animal']
    monkeypatch.setattr(sys, 'argv', ['generate_context_demo.py', str(out), '--user-folder'])
    assert load_tool('generate_context_demo').main() == 1  # exists: not overwritten


def test_benchmark_script_runs(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['benchmark_folder_dataset.py', '--num', '12', '--size',
                                      '64', '--encoding', 'rgb', '--repeats', '1'])
    load_tool('benchmark_folder_dataset').main()
    printed = capsys.readouterr().out
    assert '12 masks of 64x64 (rgb)' in printed and 'inspect 2 procs' in printed


def test_dataset_metainfo_is_plain_python_for_weights_only_checkpoints(tmp_path):
    """The metainfo (saved in checkpoints) holds no ConfigDict, which weights_only refuses."""
    import io
    import torch
    from mmseg.registry import DATASETS
    root = rgb_folder(tmp_path / 'data')
    out = tmp_path / 'cfg.py'
    assert load_tool('folder_dataset').main(
        [str(root), '--out', str(out), '--base', DEMO_CONFIG, '--no-progress']) == 0
    dataset = DATASETS.build(Config.fromfile(str(out)).train_dataloader.dataset)
    buffer = io.BytesIO()
    torch.save({'meta': {'dataset_meta': dataset.metainfo}}, buffer)
    buffer.seek(0)
    meta = torch.load(buffer, weights_only=True)['meta']['dataset_meta']
    assert meta['mask_encoding']['kind'] == 'rgb' and type(meta['mask_encoding']) is dict
