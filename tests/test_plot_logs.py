"""tools/plot_logs.py on synthetic runs laid out as MMEngine writes them."""
import importlib.util
import json
import os.path as osp

import cv2
import pytest

from mmseg_psp_ext.visualization.log_curves import load_scalars

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _plot_logs():
    spec = importlib.util.spec_from_file_location('plot_logs', osp.join(REPO, 'tools/plot_logs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_run(work_dir, timestamp, first, last, lr0, val_steps, offset=0.0):
    """Training lines every 10 iterations and validation lines, as LocalVisBackend does."""
    path = work_dir / timestamp / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    lines = []
    for step in range(first, last + 1, 10):
        lines.append(dict(lr=lr0 * (1 - step / 100) ** 0.9, data_time=0.01,
                          loss=2.0 / (1 + step / 20) + offset, **{'decode.loss_ce': 1.0},
                          time=0.5, iter=step, memory=100, step=step))
        if step in val_steps:
            lines.append(dict(aAcc=80.0 + step / 10, mIoU=20.0 + step / 5 - offset,
                              mAcc=30.0, data_time=0.01, time=0.2, step=step))
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))


def test_resumed_run_is_read_across_timestamp_folders(tmp_path):
    run = tmp_path / 'psp'
    _write_run(run, '20240101_000000', 10, 60, 0.01, {50}, offset=5.0)  # interrupted
    _write_run(run, '20240102_000000', 50, 100, 0.01, {50, 100})  # resumed at 50
    series = load_scalars(str(run))
    assert [s for s, _ in series['loss']] == list(range(10, 101, 10))
    assert dict(series['mIoU']) == {50: 30.0, 100: 40.0}  # the resumed run wins at 50
    assert dict(series['loss'])[60] == pytest.approx(2.0 / 4)
    assert 'step' not in series


def test_plot_logs_draws_several_runs(tmp_path, capsys):
    _write_run(tmp_path / 'psp', '20240101_000000', 10, 100, 0.01, {50, 100})
    _write_run(tmp_path / 'fcn', '20240101_000000', 10, 100, 0.01, {50, 100}, offset=3.0)
    out = tmp_path / 'curves.png'
    assert _plot_logs().main([str(tmp_path / 'psp'), str(tmp_path / 'fcn'), '--out', str(out),
                              '--title', 'demo']) == 0
    printed = capsys.readouterr().out
    assert 'psp: loss 0.3333 (iter 100), lr 0 (iter 100), mIoU 40 (iter 100)' in printed
    assert 'fcn: loss 3.333 (iter 100)' in printed
    image = cv2.imread(str(out))
    assert image is not None and image.shape == (340, 1260, 3)  # 3 panels, 4.2x3.4 in, 100 dpi
    # Default output next to the first run; a chosen key subset.
    assert _plot_logs().main([str(tmp_path / 'psp'), '--keys', 'decode.loss_ce']) == 0
    assert cv2.imread(str(tmp_path / 'psp' / 'training_curves.png')).shape == (340, 420, 3)


def test_plot_logs_errors_name_the_problem(tmp_path):
    plot_logs = _plot_logs()
    with pytest.raises(SystemExit, match='no <timestamp>/vis_data/scalars.json under'):
        plot_logs.main([str(tmp_path)])
    _write_run(tmp_path / 'psp', '20240101_000000', 10, 20, 0.01, set())
    with pytest.raises(SystemExit, match='no run logged mIoU; available keys: .*decode.loss_ce'):
        plot_logs.main([str(tmp_path / 'psp'), '--out', str(tmp_path / 'x.png')])
    bad = tmp_path / 'bad' / '20240101_000000' / 'vis_data' / 'scalars.json'
    bad.parent.mkdir(parents=True)
    bad.write_text('{"loss": 1.0, "step": 10}\n{"loss": 2.0\n')
    with pytest.raises(SystemExit, match=r'scalars.json, line 2: not an MMEngine scalar record'):
        plot_logs.main([str(tmp_path / 'bad')])
