"""utils.atomic_io: no partial file on failure, the umask's file mode, the demo folder's mode."""
import os
import stat

import pytest

from mmseg_psp_ext.datasets.context_demo import generate_context_demo
from mmseg_psp_ext.utils.atomic_io import atomic_write, current_umask


@pytest.fixture
def umask():
    """Sets a umask for the test and restores the previous one."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_without_changing_it(umask):
    umask(0o027)
    assert current_umask() == 0o027
    assert current_umask() == 0o027


@pytest.mark.parametrize('mask', [0o022, 0o077, 0o002])
def test_file_mode_follows_the_umask(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / 'out.txt'
    atomic_write(str(path), lambda f: f.write('x'), mode='w')
    assert _mode(path) == 0o666 & ~mask
    with open(tmp_path / 'plain.txt', 'w') as f:  # what open() gives, for comparison
        f.write('x')
    assert _mode(path) == _mode(tmp_path / 'plain.txt')


def test_failure_mid_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / 'ckpt.pth'
    atomic_write(str(path), lambda f: f.write(b'old complete content'))

    def write_half_then_fail(f):
        f.write(b'new but only half')
        raise KeyboardInterrupt  # interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(path), write_half_then_fail)
    assert path.read_bytes() == b'old complete content'
    assert os.listdir(tmp_path) == ['ckpt.pth']  # no temporary file left

    with pytest.raises(OSError):
        atomic_write(str(tmp_path / 'new.pth'), lambda f: (f.write(b'12'), f.fileno(),
                                                           os.close(f.fileno())))
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_generated_demo_folder_follows_the_umask(tmp_path, umask):
    umask(0o022)
    out = tmp_path / 'demo'
    generate_context_demo(str(out), 1, 1, size=32)
    assert _mode(out) == 0o755  # mkdtemp would leave 0o700
    assert _mode(out / 'images' / 'training') == 0o755
