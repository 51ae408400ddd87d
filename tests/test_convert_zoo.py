"""Model-zoo metadata: model-index.yml + configs/zoo/metafile.yaml as mim reads them."""
import importlib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MMSEG_METAFILE = 'configs/pspnet/metafile.yaml'


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
