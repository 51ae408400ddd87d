"""Training curves from MMEngine's ``vis_data/scalars.json`` files.

MMEngine's ``LocalVisBackend`` (in MMSegmentation's ``default_runtime.py``) writes one JSON
object per line to ``WORK_DIR/<timestamp>/vis_data/scalars.json``: training lines (``loss``,
``lr``, ``decode.loss_ce``, ... every ``LoggerHook.interval`` iterations) and validation
lines (``mIoU``, ``mAcc``, ``aAcc``), each with its ``step``. A resumed run starts a new
timestamp folder; its lines replace the earlier folders' lines at the same steps.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

Series = Dict[str, List[Tuple[int, float]]]  # key -> [(step, value)] sorted by step


def find_scalar_files(run: str) -> List[str]:
    """The ``scalars.json`` files of one run, oldest first.

    Args:
        run (str): A work dir (holding ``<timestamp>/vis_data/scalars.json``), one
            timestamp folder, or a ``scalars.json`` file.

    Returns:
        list[str]: Paths sorted by their timestamp folder.
    """
    if osp.isfile(run):
        return [run]
    if not osp.isdir(run):
        raise FileNotFoundError(f'{run} is neither a work dir nor a scalars.json file')
    files = sorted(glob.glob(osp.join(run, 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json under {run}: was it trained with '
            "visualizer.vis_backends=[dict(type='LocalVisBackend')] (MMSegmentation's default)?")
    return files


def load_scalars(run: str) -> Series:
    """Every scalar logged in a run, by key, as (step, value) pairs.

    Args:
        run (str): See :func:`find_scalar_files`.

    Returns:
        dict[str, list[tuple[int, float]]]: Values by key, sorted by step; where several
        files log a key at the same step (a resumed run), the newest file wins.
    """
    by_key: Dict[str, Dict[int, float]] = {}
    for path in find_scalar_files(run):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    step = int(record['step'])
                except (ValueError, KeyError, TypeError) as err:
                    raise ValueError(f'{path}, line {number}: not an MMEngine scalar record '
                                     f'with a "step" ({type(err).__name__}: {err})') from None
                for key, value in record.items():
                    if key != 'step' and isinstance(value, (int, float)):
                        by_key.setdefault(key, {})[step] = float(value)
    return {key: sorted(values.items()) for key, values in by_key.items()}


def plot_runs(runs: Sequence[Tuple[str, Series]], keys: Sequence[str], out_file: str,
              title: Optional[str] = None) -> List[str]:
    """Draws one panel per key with one curve per run and writes the figure as PNG.

    Args:
        runs (Sequence[tuple[str, Series]]): (name, scalars) of each run, as given by
            :func:`load_scalars`.
        keys (Sequence[str]): Scalars to plot, one panel each (e.g. loss, lr, mIoU).
        out_file (str): PNG to write (atomically).
        title (str, optional): Figure title.

    Returns:
        list[str]: Notes on (run, key) pairs that were not logged, empty when all were.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmseg_psp_ext.utils.atomic_io import atomic_write

    absent = [key for key in keys if not any(key in series for _, series in runs)]
    if absent:
        available = sorted(set().union(*(series for _, series in runs)))
        raise KeyError(f'no run logged {", ".join(absent)}; available keys: '
                       f'{", ".join(available)}')
    notes = []
    # One iteration axis for all panels, so that a few validation points line up with
    # the training curves.
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False,
                             sharex=True)
    for ax, key in zip(axes[0], keys):
        for name, series in runs:
            if key not in series:
                notes.append(f'{name} has no {key}')
                continue
            steps, values = zip(*series[key])
            line, = ax.plot(steps, values, marker='o' if len(steps) < 8 else None,
                            markersize=4, label=name)
            if len(steps) < 8:  # sparse (validation) points: print their values
                for step, value in zip(steps, values):
                    ax.annotate(f'{value:.4g}', (step, value), textcoords='offset points',
                                xytext=(0, 5), ha='center', fontsize=7,
                                color=line.get_color())
        ax.margins(y=0.12)  # room for the value labels
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if key == 'lr':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(-2, 2))
    axes[0][0].legend(fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    atomic_write(out_file, lambda f: fig.savefig(f, format='png', dpi=100))
    plt.close(fig)
    return notes
