"""Installs mmseg_psp_ext, the PSPNet plugin for MMSegmentation.

The framework stack is chosen with an extra, because the maintained fork and the
original OpenMMLab releases install the same import names and cannot live side by side:

    pip install -e .[onedl]       # onedl-mmsegmentation, onedl-mmcv, onedl-mmengine
    pip install -e .[openmmlab]   # mmsegmentation 1.2.2, mmcv 2.1.0 (built with ops)
    pip install -e .[demo]        # Gradio, for tools/web_demo.py
"""
import shutil
import sys
from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """Reads requirements/<name>.txt without comments, pip options or nested files."""
    lines = (Path(__file__).parent / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines
            if line.split('#')[0].strip() and not line.startswith('-')]


def add_mim_extension() -> None:
    """Copies model-index.yml, configs/ and tools/ into mmseg_psp_ext/.mim for wheels.

    `mim search` / `mim download` read <installed package>/.mim/model-index.yml and the
    configs it names (editable installs are read from the repository root instead).
    MANIFEST.in ships the copy as package data, as MMSegmentation does.
    """
    if not {'sdist', 'bdist_wheel', 'install', 'build'} & set(sys.argv):
        return
    root = Path(__file__).parent
    mim_path = root / 'mmseg_psp_ext' / '.mim'
    mim_path.mkdir(exist_ok=True)
    for name in ('model-index.yml', 'configs', 'tools'):
        src, dst = root / name, mim_path / name
        if dst.is_dir():
            shutil.rmtree(dst)
        elif dst.exists():
            dst.unlink()
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        elif src.exists():
            shutil.copyfile(src, dst)


add_mim_extension()
setup(
    name='mmseg-psp-ext',
    version='0.1.0',
    description='A faithful and fast PSPNet plugin for MMSegmentation',
    long_description=Path(__file__).with_name('README.md').read_text(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['mmseg_psp_ext', 'mmseg_psp_ext.*']),
    include_package_data=True,
    install_requires=read_requirements('runtime'),
    extras_require={
        'onedl': [r for r in read_requirements('onedl') if not r.startswith('torch')],
        'openmmlab': [r for r in read_requirements('openmmlab')
                      if not r.startswith(('torch', 'setuptools'))] + ['mmcv==2.1.0'],
        'tests': read_requirements('tests'),
        'demo': ['gradio==6.31.0'],  # tools/web_demo.py
        # torch.onnx.export(dynamo=True) translates through onnxscript; the tested
        # versions are pinned in requirements/tests.txt.
        # NNCF (INT8 quantization for OpenVINO): requirements/quantization.txt.
        'deploy': ['onnx', 'onnxscript', 'onnxruntime', 'openvino', 'nncf'],
    },
    license='Apache-2.0',
)
