"""The demo figure (tools/demo.py): input | ground truth | [dilated FCN |] PSPNet."""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest

from viz_tiny import FCN_CONFIG, PSP_CONFIG, REPO, random_checkpoint


def _demo_module():
    spec = importlib.util.spec_from_file_location('demo', osp.join(REPO, 'tools/demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # four tiny models built and run: ~20-40 s on 2 busy cores
def test_figure_shows_the_baseline_beside_pspnet(tmp_path):
    from mmseg.apis import init_model

    from mmseg_psp_ext.datasets.context_demo import PALETTE, generate_context_demo
    from mmseg_psp_ext.visualization import colorize, predict_label
    demo = _demo_module()
    data = str(tmp_path / 'data')
    generate_context_demo(data, 1, 2, size=64, seed=3)
    psp = random_checkpoint(str(tmp_path / 'psp.pth'), PSP_CONFIG, seed=0)
    fcn = random_checkpoint(str(tmp_path / 'fcn.pth'), FCN_CONFIG, seed=1)

    plain, both = str(tmp_path / 'plain.png'), str(tmp_path / 'both.png')
    names = demo.draw_predictions(PSP_CONFIG, psp, data, plain, 2)
    assert demo.draw_predictions(PSP_CONFIG, psp, data, both, 2,
                                 baseline=(FCN_CONFIG, fcn)) == names
    plain = cv2.cvtColor(cv2.imread(plain), cv2.COLOR_BGR2RGB)
    both = cv2.cvtColor(cv2.imread(both), cv2.COLOR_BGR2RGB)
    tile, step = 256, 260  # 64 px images drawn 4x, 4 px gaps
    assert plain.shape[1] == 3 * tile + 2 * 4 and both.shape[1] == 4 * tile + 3 * 4
    assert plain.shape[0] == both.shape[0]

    image = cv2.cvtColor(cv2.imread(osp.join(data, 'images', 'validation', names[0])),
                         cv2.COLOR_BGR2RGB)
    row = slice(18, 18 + tile)  # under the 18 px caption strip
    for config, ckpt, figure, x in ((PSP_CONFIG, psp, plain, 2 * step),
                                    (PSP_CONFIG, psp, both, 3 * step),
                                    (FCN_CONFIG, fcn, both, 2 * step)):
        pred = predict_label(init_model(config, ckpt, device='cpu'), image)
        expected = np.kron(colorize(pred, PALETTE), np.ones((4, 4, 1), np.uint8))
        np.testing.assert_array_equal(figure[row, x:x + tile], expected)
    fcn_tile, psp_tile = (both[row, x:x + tile] for x in (2 * step, 3 * step))
    assert not np.array_equal(fcn_tile, psp_tile)
    np.testing.assert_array_equal(both[row, :2 * step], plain[row, :2 * step])  # input, GT


def test_find_baseline_takes_the_first_work_dir_with_a_checkpoint(tmp_path):
    demo = _demo_module()
    dirs = [tmp_path / 'demo_fcn', tmp_path / 'ablation' / 'baseline']
    assert demo.find_baseline([str(d) for d in dirs]) is None
    dirs[1].mkdir(parents=True)
    ckpt = dirs[1] / 'iter_500.pth'
    ckpt.write_bytes(b'')
    (dirs[1] / 'last_checkpoint').write_text(str(ckpt))
    assert demo.find_baseline([str(d) for d in dirs]) == str(ckpt)
    dirs[0].mkdir()
    (dirs[0] / 'last_checkpoint').write_text(str(dirs[0] / 'gone.pth'))  # stale pointer
    assert demo.find_baseline([str(d) for d in dirs]) == str(ckpt)
