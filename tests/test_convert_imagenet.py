"""ImageNet initialisations: torchvision and semseg ResNets onto DilatedResNet, publish_model."""
import re
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from convert_reference import SemsegBottleneck, randomize_
from convert_tools import run_tool

from mmseg_psp_ext.converters import convert_semseg_resnet, convert_torchvision_resnet

REPO = Path(__file__).resolve().parents[1]


class PlainResNet50(nn.Module):
    """torchvision's (7x7 stem) or semseg's (3-conv stem) ImageNet ResNet-50, narrow."""

    def __init__(self, deep_stem: bool, base=8):
        super().__init__()
        if deep_stem:
            self.conv1 = nn.Conv2d(3, base, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            self.conv2 = nn.Conv2d(base, base, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(base)
            self.conv3 = nn.Conv2d(base, base * 2, 3, 1, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(base * 2)
            inplanes = base * 2
        else:
            self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            inplanes = base
        self.deep_stem = deep_stem
        for i, num in enumerate((3, 4, 6, 3)):
            planes, stride = base * 2 ** i, 1 if i == 0 else 2
            down = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * 4))
            blocks = [SemsegBottleneck(inplanes, planes, stride, down)]
            inplanes = planes * 4
            blocks += [SemsegBottleneck(inplanes, planes) for _ in range(num - 1)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, 10)

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.deep_stem:
            x = F.relu(self.bn3(self.conv3(F.relu(self.bn2(self.conv2(x))))))
        x = F.max_pool2d(x, 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def ours(deep_stem: bool, base=8):
    from mmseg_psp_ext.models import DilatedResNet
    backbone = DilatedResNet(depth=50, base_channels=base, stem_channels=base * 2 if deep_stem
                             else base, deep_stem=deep_stem, strides=(1, 2, 2, 2),
                             dilations=(1, 1, 1, 1), contract_dilation=False)
    backbone.eval()  # mmseg's ResNet.train() returns None
    return backbone


@pytest.mark.parametrize('deep_stem', [False, True])
def test_imagenet_resnet_features_match(deep_stem):
    source = randomize_(PlainResNet50(deep_stem), seed=4).eval()
    convert = convert_semseg_resnet if deep_stem else convert_torchvision_resnet
    backbone = ours(deep_stem)
    backbone.load_state_dict(convert(source.state_dict()), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        diff = (backbone(x)[-1] - source.features(x)).abs().max().item()
    print(f'imagenet deep_stem={deep_stem} max abs diff {diff:.3g}')
    assert diff < 1e-4


def test_wrong_stem_kind_is_refused():
    with pytest.raises(ValueError, match='7x7'):
        convert_torchvision_resnet(PlainResNet50(deep_stem=True).state_dict())
    with pytest.raises(ValueError, match='conv3.weight'):
        convert_semseg_resnet(PlainResNet50(deep_stem=False).state_dict())
    sd = PlainResNet50(deep_stem=False).state_dict()
    sd['avgpool.extra'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'avgpool\.extra'):
        convert_torchvision_resnet(sd)


def test_convert_torchvision_tool_with_prefix(tmp_path, monkeypatch):
    torch.save(PlainResNet50(deep_stem=False).state_dict(), tmp_path / 'resnet50.pth')
    run_tool('convert_torchvision.py', tmp_path / 'resnet50.pth', tmp_path / 'out.pth',
             '--prefix', 'backbone.', monkeypatch=monkeypatch)
    out = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    assert 'backbone.conv1.weight' in out and not any(k.startswith(('fc', 'backbone.fc'))
                                                      for k in out)


def test_publish_model_strips_and_names_by_hash(tmp_path, monkeypatch, capsys):
    import hashlib
    state = OrderedDict(w=torch.arange(4.0))
    torch.save({'meta': {'iter': 3}, 'state_dict': state, 'optimizer': {'x': 1},
                'message_hub': {'y': 2}, 'param_schedulers': []}, tmp_path / 'iter_3.pth')
    run_tool('publish_model.py', tmp_path / 'iter_3.pth', tmp_path / 'pspnet_x',
             monkeypatch=monkeypatch)
    path = Path(capsys.readouterr().out.strip().splitlines()[-1])
    m = re.fullmatch(r'pspnet_x_(\d{8})-([0-9a-f]{8})\.pth', path.name)
    assert m, path.name
    assert hashlib.sha256(path.read_bytes()).hexdigest()[:8] == m.group(2)
    loaded = torch.load(path, weights_only=True)
    assert set(loaded) == {'meta', 'state_dict'} and torch.equal(loaded['state_dict']['w'],
                                                                state['w'])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['iter_3.pth', path.name])


@pytest.mark.parametrize('name', ['resnet18_v1c', 'resnet50_v1c', 'resnet101_v1c'])
def test_open_mmlab_v1c_names_resolve(name):
    """``open-mmlab://resnet50_v1c`` resolves through mmengine's hub list (no download)."""
    from mmengine.runner.checkpoint import CheckpointLoader, get_external_models
    assert get_external_models()[name].endswith('.pth')
    assert CheckpointLoader._get_checkpoint_loader(f'open-mmlab://{name}').__name__ == \
        'load_from_openmmlab'
