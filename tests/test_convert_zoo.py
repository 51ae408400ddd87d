"""Model-zoo metadata: model-index.yml + configs/zoo/metafile.yaml as mim reads them."""
import importlib
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MMSEG_METAFILE = 'configs/pspnet/metafile.yaml'
# The hosts that serve MMSegmentation's checkpoints: the onedl fork's mirror (what this
# metafile uses, as onedl-mmsegmentation's own does) and the original OpenMMLab host.
ZOO_HOSTS = {'mmassets.onedl.ai', 'download.openmmlab.com'}
# <host>/mmsegmentation/v0.5/pspnet/<0.x name>/<0.x name>_<YYYYMMDD>_<HHMMSS>[-<sha8>.pth|.log.json]
ZOO_PATH = re.compile(r'^/mmsegmentation/v0\.5/pspnet/(?P<old>pspnet_r\d+-d8_\d+x\d+_\d+k_\w+?)/'
                      r'(?P=old)_20\d{6}_\d{6}(-[0-9a-f]{8}\.pth|\.log\.json)$')


def zoo_models():
    return yaml.safe_load((REPO / 'configs' / 'zoo' / 'metafile.yaml').read_text())['Models']


@pytest.fixture
def as_installed(monkeypatch):
    """mim resolves an editable install of this repository to the repository root."""
    download = importlib.import_module('mim.commands.download')
    search = importlib.import_module('mim.commands.search')
    monkeypatch.setattr(search, 'get_installed_path', lambda package: str(REPO))
    monkeypatch.setattr(download, 'get_installed_path', lambda package: str(REPO))
    monkeypatch.setattr(search, 'is_installed', lambda package: True)
    monkeypatch.setattr(download, 'is_installed', lambda package: True)


def test_metafile_copies_mmseg_entries():
    import mmseg
    reference = yaml.safe_load((Path(mmseg.__file__).parent / '.mim' / MMSEG_METAFILE)
                               .read_text())
    by_name = {m['Name']: m for m in reference['Models']}
    models = zoo_models()
    assert len(models) == 16
    for model in models:
        ref = by_name[model['Name']]
        # The onedl fork serves the same files from its own host; the path names the file.
        assert urlparse(model['Weights']).path == urlparse(ref['Weights']).path
        assert model['Results'] == ref['Results']
        assert model['Metadata'].get('Memory (GB)') == ref['Metadata'].get('Memory (GB)')
        assert model['Config'] == f'configs/zoo/{model["Name"]}.py'


def test_every_zoo_url_has_a_known_host_and_the_zoo_file_name():
    """Catches typos such as the ``download.oz1z1penmmlab.com`` host copied from upstream."""
    for model in zoo_models():
        new = re.match(r'^pspnet_(r\d+)-d8_\dxb\d-(\d+k)_(\w+)-(\d+x\d+)$', model['Name'])
        assert new, model['Name']
        for field in ('Weights', 'Training log'):
            url = urlparse(model[field])
            assert url.scheme == 'https' and url.netloc in ZOO_HOSTS, \
                f"{model['Name']} {field}: unknown host in {model[field]}"
            match = ZOO_PATH.match(url.path)
            assert match, f"{model['Name']} {field}: {url.path} is not a zoo file name"
            assert match.group(0).endswith('.pth') == (field == 'Weights')
            depth, iters, dataset, crop = new.groups()
            # 1.x pspnet_r50-d8_4xb4-80k_ade20k-512x512 <-> 0.x pspnet_r50-d8_512x512_80k_ade20k
            assert match.group('old') == f'pspnet_{depth}-d8_{crop}_{iters}_{dataset}', \
                f"{model['Name']} {field}: the URL names another model ({match.group('old')})"
    assert {urlparse(m['Weights']).netloc for m in zoo_models()} == {'mmassets.onedl.ai'}


def test_every_metafile_config_exists():
    missing = [m['Config'] for m in zoo_models() if not (REPO / m['Config']).is_file()]
    assert not missing, f'metafile names configs that do not exist: {missing}'


def test_mim_search_lists_the_zoo(as_installed):
    from click.testing import CliRunner
    from mim.commands.search import cli
    result = CliRunner().invoke(cli, ['mmseg-psp-ext', '--field', 'weight', 'config'])
    assert result.exit_code == 0, result.output
    for model in zoo_models():
        assert model['Name'] in result.output


def test_mim_search_lists_the_paper_configs(as_installed):
    """mim's own search API on the installed stack (onedl-mim or openmim) finds them."""
    from mim.commands.search import convert2df, get_model_info, load_metadata
    paper = yaml.safe_load((REPO / 'configs' / 'paper' / 'metafile.yml').read_text())
    configs = {row['Config'][:-3] for row in paper['Rows']}
    assert len(configs) == 19
    table = get_model_info('mmseg-psp-ext', shown_fields=['config', 'weight'], local=True)
    assert configs <= set(table.index), sorted(configs - set(table.index))
    assert {m['Name'] for m in zoo_models()} <= set(table.index)
    df = convert2df(load_metadata('mmseg-psp-ext', local=True))
    best = df.loc['pspnet_r50-d8_8xb2-150k_ade20k-473x473']
    assert best['ade20k val/miou'] == 41.68 and best['ade20k val/miou(ms)'] == 42.78
    assert best['config'] == 'configs/paper/pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
    assert not isinstance(best.get('weight'), str)  # no weights: the paper's are Caffe models


def test_mim_download_fetches_the_published_url(as_installed, monkeypatch, tmp_path):
    download = importlib.import_module('mim.commands.download')
    fetched = []

    def fake_download(url, dest, **kwargs):  # no internet: record and leave a file
        fetched.append(url)
        Path(dest).write_bytes(b'')

    monkeypatch.setattr(download, 'download_from_file', fake_download)
    name = 'pspnet_r50-d8_4xb4-80k_ade20k-512x512'
    download._download_configs('mmseg-psp-ext', [name], str(tmp_path))
    expected = next(m['Weights'] for m in zoo_models() if m['Name'] == name)
    assert fetched == [expected] and expected.startswith('https://')
    assert (tmp_path / f'{name}.py').is_file()
