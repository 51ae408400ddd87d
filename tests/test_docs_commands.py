"""Every command that README.md and docs/*.md give in a code block runs, or is covered.

A *command* is one logical line of a code block: a fenced block marked ``bash``, ``sh``,
``shell``, ``console`` or unmarked, or an indented (4-space) block; continuation lines
(``\\`` at the end) are joined, ``#`` comments and surrounding blanks dropped, runs of spaces
collapsed. Fences marked ``python``, ``yaml``, ``text``... hold snippets, not commands.

``COMMANDS`` maps every command to what proves it works; the first entry whose
``pattern`` matches the whole command (``re.fullmatch``) wins, and a command that no entry
matches FAILS ``test_every_documented_command_is_mapped``, so a new command in the docs
needs an entry. The actions:

- ``Run(template)``: a reduced form run from the repository root (slow test; must exit 0
  and print ``expect`` if given). The template is formatted with ``{python}`` (this
  interpreter), ``{mim}`` (the mim next to it), ``{tmp}`` (a fresh folder per command),
  ``{ckpt}`` (a checkpoint of ``configs/pspnet_r50_ade20k.py`` trained by ``TINY_TRAIN``),
  ``{train_dir}`` (that run's work dir, with its MMEngine logs),
  ``{tiny}`` (``--cfg-options`` values that shrink that config family -- the ADE20K
  pipelines of ``configs/`` -- to a 48x48 dataset, a thin ResNet18 and 2 iterations),
  ``{tiny_model}`` (the same without the test pipelines' Resize, for the authors'
  protocol) and the pattern's named groups. Identical reduced forms run once.
- ``ByTest('tests/test_x.py::test_name', why)``: another test runs it (or its reduced
  form); the test must exist.
- ``ByCI('FILE', 'TEXT', why)``: CI runs it through FILE (``Makefile``, ``.ci/run``,
  a requirements file), which must contain TEXT.
- ``NotCommand(why)``: a line of output shown in an indented block.

To add a command: append an entry with a pattern that matches it (a literal command is a
fine pattern; escape regex characters with ``re.escape``), and prefer ``Run`` with the
smallest form that still goes through the documented entry point (same script, same
config family, tiny data, 2 iterations). Then run
``pytest tests/test_docs_commands.py -m "not slow"`` (mapping) and without ``-m`` (runs).
"""
import os
import os.path as osp
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / 'README.md'] + sorted((REPO / 'docs').glob('*.md'))
SHELL_FENCES = {'', 'bash', 'sh', 'shell', 'console'}
sys.path.insert(0, str(Path(__file__).parent))


# ----------------------------------------------------------------------------- actions
class Run(NamedTuple):
    template: str
    expect: Optional[str] = None


class ByTest(NamedTuple):
    node: str
    why: str


class ByCI(NamedTuple):
    file: str
    text: str
    why: str


class NotCommand(NamedTuple):
    why: str


class Entry(NamedTuple):
    pattern: str
    action: object


README_CONFIG = 'configs/pspnet_r50_ade20k.py'
DIST = 'tests/test_frameworks_tools.py::test_distributed_train_resume_test_and_tta'
MULTINODE_TRAIN = ('tests/test_frameworks_multinode.py::'
                   'test_two_nodes_slurm_and_a_restarted_worker_train_as_one_process')
MULTINODE_TEST = ('tests/test_frameworks_multinode.py::'
                  'test_two_nodes_and_slurm_test_as_one_process_whole_slide_and_authors')
# The reduced form of `python tools/train.py` (run once, by the `tiny` fixture): also the
# gradient-accumulation options of docs/configs.md, at 2 iterations.
TINY_TRAIN = ('{python} tools/train.py ' + README_CONFIG + ' --work-dir {tmp} --cfg-options '
              '{tiny} optim_wrapper.accumulative_counts=2 param_scheduler.0.end=2')
AUTHORS_TINY = ('model.test_cfg.crop_size="(32,32)" model.test_cfg.stride="(22,22)" '
                'model.test_cfg.base_size=48')
MS = 'model.test_cfg.scales=(0.5,0.75,1.0,1.25,1.5,1.75)'

COMMANDS: List[Entry] = [
    # README: quick start, install, train and test, development
    Entry(r'make demo', ByTest('tests/test_demo_dataset.py::test_demo_config_trains_through_mim',
                               'tools/demo.py trains the demo config through mim, as here')),
    Entry(r'make test', ByCI('.ci/run', 'make test', 'CI runs it')),
    Entry(r'make test-fast', Run('make -n test-fast', expect='-m "not slow"')),
    Entry(r'make env-openmmlab', ByCI('Makefile', 'test-openmmlab: env-openmmlab',
                                      'make test-openmmlab (CI) builds it first')),
    Entry(r'make test-openmmlab', ByCI('.ci/run', 'make test-openmmlab', 'CI runs it')),
    Entry(r'pip install torch==2\.13\.0', ByCI('requirements/onedl.txt', 'torch==2.13.0',
                                              'make env installs this pin')),
    Entry(r'pip install -e \.\[(onedl|openmmlab)\]',
          ByTest('tests/test_docs_commands.py::test_setup_extras_are_the_requirement_pins',
                 'the extras carry the pins that CI installs')),
    Entry(r'(\.venv/bin/)?python -m pytest (?P<tests>tests/\S+\.py) -q',
          Run('{python} -m pytest {tests} -q --collect-only', expect='tests collected')),
    Entry(r'mim train mmseg (?P<config>configs/(pspnet_r50_ade20k|zoo/pspnet_r50-d8_4xb4-80k_'
          r'ade20k-512x512)\.py)( --work-dir \S+)?',
          Run('{mim} train mmseg {config} --work-dir {tmp} --cfg-options {tiny}',
              expect='Saving checkpoint at 2 iterations')),
    Entry(r'mim train mmseg configs/demo/(pspnet|fcn)_r18_context_demo\.py --work-dir \S+',
          ByTest('tests/test_demo_dataset.py::test_demo_config_trains_through_mim',
                 'the PSPNet demo config through mim; the FCN one differs only in the head '
                 '(test_demo_configs_differ_only_in_pyramid_pooling)')),
    Entry(r'mim test mmseg (configs/pspnet_r50_ade20k\.py|CONFIG) --checkpoint \S+',
          Run('{mim} test mmseg ' + README_CONFIG + ' --checkpoint {ckpt} --work-dir {tmp} '
              '--cfg-options {tiny}', expect='mIoU')),
    Entry(r'mim test mmseg CONFIG --checkpoint \S+ --tta',
          Run('{mim} test mmseg ' + README_CONFIG + ' --checkpoint {ckpt} --work-dir {tmp} '
              '--tta --cfg-options {tiny}', expect='mIoU')),
    # One run for both: the multi-scale form includes scale 1.0, i.e. the single-scale one.
    Entry(r'mim test mmseg PAPER_CONFIG --checkpoint \S+( --cfg-options "' + re.escape(MS) + '")?',
          Run('{mim} test mmseg configs/eval/pspnet_r50_ade20k_authors.py --checkpoint {ckpt} '
              '--work-dir {tmp} --cfg-options {tiny_model} ' + AUTHORS_TINY + ' "' + MS + '"',
              expect='mIoU')),
    Entry(r'mim test mmseg configs/converted/pspnet50_ade20k_(caffe|semseg)\.py --checkpoint \S+',
          ByTest('tests/test_convert_caffe.py::test_converted_configs_fit_full_size_caffe',
                 'converted checkpoints load strictly into these configs (semseg: '
                 'test_convert_semseg.py::test_converted_configs_fit_full_size_semseg); '
                 'testing them is the mim test above')),
    # distributed launchers (torchrun on CPU with gloo in the test) and Slurm
    Entry(r'(PYTHON=\S+ )?bash tools/dist_train\.sh \S+ \d+( --cfg-options env_cfg\.dist_cfg'
          r'\.backend=gloo)?', ByTest(DIST, 'dist_train.sh on 2 CPU processes')),
    Entry(r'bash tools/dist_train\.sh CONFIG NUM_PROCS \[train\.py options\]', ByTest(DIST, '')),
    Entry(r'bash tools/dist_test\.sh CONFIG CHECKPOINT NUM_PROCS \[test\.py options\]',
          ByTest(DIST, 'dist_test.sh --out --show-dir on 2 CPU processes')),
    Entry(r'bash tools/dist_train\.sh CONFIG 4 --cfg-options optim_wrapper\.accumulative_counts=2 '
          r'train_cfg\.max_iters=300000 param_scheduler\.0\.end=300000', Run(TINY_TRAIN)),
    Entry(r'GPUS=(8|16) (GPUS_PER_NODE=8 )?bash tools/slurm_(train|test)\.sh PARTITION JOB_NAME .*',
          ByTest(MULTINODE_TRAIN, 'slurm_train.sh under a stand-in srun, 2 tasks on 2 "nodes" '
                 '(slurm_test.sh: ' + MULTINODE_TEST + ')')),
    # docs/distributed.md: several nodes, restarts, batch size
    Entry(r'NNODES=2 NODE_RANK=[01] MASTER_ADDR=\S+ PORT=\d+ bash tools/dist_train\.sh CONFIG \d+',
          ByTest(MULTINODE_TRAIN, 'two dist_train.sh invocations as node 0 and node 1')),
    Entry(r'NNODES=2 NODE_RANK=[01] MASTER_ADDR=\S+ PORT=\d+ bash tools/dist_test\.sh CONFIG '
          r'CHECKPOINT \d+', ByTest(MULTINODE_TEST, 'two dist_test.sh invocations, 3 test modes')),
    Entry(r'MAX_RESTARTS=\d+ bash tools/dist_train\.sh CONFIG \d+ --work-dir \S+',
          ByTest(MULTINODE_TRAIN, 'MAX_RESTARTS=1, a worker SIGKILLed after a checkpoint')),
    Entry(r'bash tools/dist_train\.sh CONFIG \d+ --auto-scale-lr',
          ByTest(MULTINODE_TRAIN, 'dist_train.sh --auto-scale-lr; the logged and used lr')),
    # tools/train.py and tools/test.py synopses
    Entry(r'python tools/train\.py CONFIG \[--work-dir DIR\] .*', Run(TINY_TRAIN)),
    Entry(r'python tools/test\.py CONFIG CHECKPOINT \[--work-dir DIR\] .*',
          Run('{python} tools/test.py ' + README_CONFIG + ' {ckpt} --work-dir {tmp} '
              '--out {tmp}/out --show-dir {tmp}/vis --cfg-options {tiny}', expect='mIoU')),
    # checkpoints
    Entry(r'python tools/convert_caffe\.py \S+\.caffemodel \S+\.pth',
          ByTest('tests/test_convert_caffe.py::test_tool_output_matches_caffe_forward', '')),
    Entry(r'python tools/convert_semseg\.py \S+\.pth \S+\.pth',
          ByTest('tests/test_convert_semseg.py::test_tool_output_matches_semseg_forward', '')),
    Entry(r'python tools/publish_model\.py \S+ \S+',
          ByTest('tests/test_convert_imagenet.py::test_publish_model_strips_and_names_by_hash',
                 '')),
    Entry(r'mim search mmseg-psp-ext',
          ByTest('tests/test_convert_zoo.py::test_mim_search_lists_the_paper_configs',
                 "mim's search on this checkout (the installed copy may be another)")),
    Entry(r'mim download mmseg-psp-ext --config \S+ --dest \S+',
          ByTest('tests/test_convert_zoo.py::test_mim_download_fetches_the_published_url',
                 'no internet in tests: the URL mim fetches is checked')),
    Entry(r'python -m venv /tmp/protoc && /tmp/protoc/bin/pip install grpcio-tools==1\.85\.1',
          ByTest('tests/test_convert_caffe.py::test_generated_modules_match_the_protos',
                 'dev-time regeneration: the generated modules match the .proto files')),
    Entry(r'cd mmseg_psp_ext/converters && /tmp/protoc/bin/python -m grpc_tools\.protoc .*',
          ByTest('tests/test_convert_caffe.py::test_generated_modules_match_the_protos', '')),
    # your own data (docs/own_data.md, README)
    Entry(r'python tools/generate_context_demo\.py data/my_photos --user-folder',
          ByTest('tests/test_folder_dataset.py::test_generator_writes_a_user_folder', '')),
    Entry(r'python tools/folder_dataset\.py data/my_photos --out work_dirs/my_photos(_scratch)?'
          r'\.py --base configs/demo/pspnet_r18_context_demo\.py( --load-from \S+\.pth)? '
          r'--iters \d+ --val-fraction [\d.]+',
          ByTest('tests/test_folder_dataset_train.py::test_fine_tune_a_generated_user_folder_'
                 'and_write_rgb_back', 'the same options on a generated user folder (8-class '
                 'checkpoint, 2 iterations)')),
    Entry(r'python tools/folder_dataset\.py DATA_DIR --out CONFIG .*',
          ByTest('tests/test_folder_dataset.py::test_default_base_is_the_zoo_config_with_its_'
                 'checkpoint', 'the default base and its zoo load_from; the options in '
                 'test_tool_writes_a_config_the_framework_builds')),
    Entry(r'python tools/train\.py (CONFIG|work_dirs/my_photos(_scratch)?\.py)',
          ByTest('tests/test_folder_dataset_train.py::test_fine_tune_a_generated_user_folder_and_write_rgb_back',
                 'tools/train.py on a config of tools/folder_dataset.py (a generated user '
                 'folder, --load-from a checkpoint with 8 classes, 2 iterations)')),
    Entry(r'python tools/infer\.py (CONFIG|work_dirs/my_photos\.py) \S+\.pth \S+ --out \S+',
          ByTest('tests/test_folder_dataset_train.py::test_fine_tune_a_generated_user_folder_and_write_rgb_back',
                 'infer.py on the fine-tuned checkpoint writes the RGB colours of the masks')),
    Entry(r'python tools/benchmark_folder_dataset\.py --num \d+ --size \d+ --encoding rgb '
          r'--repeats \d+',
          ByTest('tests/test_folder_dataset.py::test_benchmark_script_runs',
                 'the same options on 12 masks of 64x64, in-process')),
    # the demo
    Entry(r'python tools/generate_context_demo\.py .*',
          ByTest('tests/test_demo_dataset.py::test_cli', '')),
    Entry(r'(mIoU|mAcc|aAcc|wall time)\s*: .*', NotCommand("the demo's printout")),
    # seeing results (README), on the demo model
    Entry(r'python tools/web_demo\.py',
          ByTest('tests/test_web_demo.py::test_web_demo_without_arguments_serves_the_demo_model',
                 "main() without arguments loads the make-demo model and launches on "
                 "127.0.0.1:7860 (Gradio's launch captured)")),
    Entry(r'python tools/web_demo\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'--port \d+',
          ByTest('tests/test_web_demo.py::test_web_demo_in_headless_chromium',
                 'serves the demo config and a checkpoint on --port, used in Chromium')),
    Entry(r'python tools/plot_logs\.py work_dirs/demo',
          Run('{python} tools/plot_logs.py {train_dir} && '
              'test -s {train_dir}/training_curves.png', expect='train: loss')),
    Entry(r'python tools/plot_logs\.py work_dirs/demo --keys (?P<keys>[\w. ]+) --out \S+\.png',
          Run('{python} tools/plot_logs.py {train_dir} --keys {keys} --out {tmp}/curves.png && '
              'test -s {tmp}/curves.png', expect='aux.loss_ce')),
    Entry(r'python tools/plot_logs\.py work_dirs/demo work_dirs/demo_fcn --names PSPNet '
          r'"dilated FCN" --out \S+\.png',
          Run('{python} tools/plot_logs.py {train_dir} {train_dir} --names PSPNet "dilated FCN" '
              '--out {tmp}/both.png && test -s {tmp}/both.png', expect='dilated FCN: loss')),
    Entry(r'python tools/test\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'--plot-dir \S+',
          ByTest('tests/test_eval_plots.py::test_test_py_plot_dir_on_a_tiny_set',
                 'the demo config on a tiny generated demo set, random weights')),
    # inference and export (README), on the demo config
    Entry(r'python tools/infer\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth \S+ '
          r'--out \S+',
          ByTest('tests/test_infer.py::test_labels_equal_test_py_out',
                 'a folder of demo validation images; the labels equal test.py --out')),
    Entry(r'python tools/export_onnx\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'\S+\.onnx --dynamic --openvino',
          ByTest('tests/test_infer.py::test_export_tool_and_onnx_backends_match_eager',
                 'the same options plus --size 128 128; checks ONNX Runtime and OpenVINO')),
    Entry(r'python tools/infer\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth \S+ '
          r'--out \S+ --backend (onnxruntime|openvino) --onnx \S+\.onnx',
          ByTest('tests/test_infer.py::test_export_tool_and_onnx_backends_match_eager',
                 'the exported file on both backends; labels match eager')),
    # INT8 quantization (docs/quantization.md), on the demo config
    Entry(r'python tools/quantize\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'\S+\.(xml|onnx)( --backend (openvino|onnxruntime))?',
          ByTest('tests/test_quantize.py::test_quantize_end_to_end_json_and_dynamic_sizes',
                 'both backends on a tiny demo set (3 calibration, 3 validation images), '
                 'random weights; the JSON and the printed figures checked')),
    Entry(r'python tools/quantize\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'\S+\.(xml|onnx) --max-drop [\d.]+',
          ByTest('tests/test_quantize.py::test_max_drop_keeps_groups_in_float_until_met',
                 'the search on the demo config (and test_max_drop_that_cannot_be_met_'
                 'writes_nothing for the failure)')),
    Entry(r'python tools/(infer|test)\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'(\S+ --out \S+ )?--backend openvino --onnx \S+\.xml',
          ByTest('tests/test_quantize.py::test_int8_backend_in_test_py_and_infer',
                 'the INT8 file of both backends in test.py (whole and slide) and infer.py')),
    Entry(r'python tools/web_demo\.py configs/demo/pspnet_r18_context_demo\.py \S+\.pth '
          r'--backend openvino --onnx \S+\.xml',
          ByTest('tests/test_quantize.py::test_web_demo_serves_the_int8_model',
                 'web_demo.main with an INT8 file (ONNX Runtime), launch stubbed; its '
                 'predictions agree with fp32')),
    Entry(r'python tools/benchmark\.py configs/pspnet_r50_ade20k\.py --backend '
          r'(openvino|onnxruntime) --dtype int8 --iters 5 --warmup 1',
          ByTest('tests/test_benchmark.py::test_infer_int8_quantizes_on_the_fly',
                 'both backends on the demo config at 64x64 (R50 at 512x512 takes minutes)')),
    # resuming (README: train and test)
    Entry(r'python tools/train\.py configs/pspnet_r50_ade20k\.py --resume',
          ByTest('tests/test_frameworks_crash_safety.py::'
                 'test_killed_and_resumed_run_equals_uninterrupted_run',
                 'train.py --resume on a tiny config of the same ADE20K bases: the latest '
                 'checkpoint of the work dir, same weights as an uninterrupted run')),
    Entry(r'python tools/train\.py configs/pspnet_r50_ade20k\.py --resume \S+\.pth',
          ByTest('tests/test_frameworks_crash_safety.py::test_resume_path_resumes_from_that_file',
                 'train.py --resume PATH on a tiny config of the same ADE20K bases')),
    # speed (README)
    Entry(r'python tools/test\.py CONFIG CHECKPOINT --fuse-conv-bn( --dtype (bf16|fp16))?',
          ByTest('tests/test_fast_inference.py::test_train_amp_then_test_bf16_fused',
                 'test.py --fuse-conv-bn and --fuse-conv-bn --dtype bf16 on a tiny config; '
                 'fp16 is CUDA only: on the CPU the same line stops with that message')),
    Entry(r'python tools/test\.py CONFIG CHECKPOINT --fuse-conv-bn --dtype bf16 --compile',
          ByTest('tests/test_fast_inference.py::test_train_amp_then_test_bf16_fused',
                 'the same options on a tiny config')),
    Entry(r'python tools/benchmark\.py configs/demo/pspnet_r18_context_demo\.py --dataset '
          r'--checkpoint \S+\.pth --dtype bf16 --fuse-conv-bn --threads 1',
          ByTest('tests/test_benchmark.py::test_dataset_mode_reports_agreement_and_both_mious',
                 'the same options (bf16 and fp32) on a tiny config and test set')),
    # environments (what make env does; CI runs make env through make test)
    Entry(r'python3 -m venv \.venv', ByCI('Makefile', '-m venv $(VENV)', '')),
    Entry(r'\.venv/bin/pip install -r requirements/onedl\.txt',
          ByCI('Makefile', '-r requirements/onedl.txt', '')),
    Entry(r'\.venv/bin/pip install --no-deps -e \.',
          ByCI('Makefile', '--no-deps --no-build-isolation -e .', '')),
]


# ----------------------------------------------------------------------------- extraction
def code_blocks(text: str) -> List[Tuple[int, List[str]]]:
    """(first line number, lines) of each shell-command block of a markdown text."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        fence = re.match(r'^\s*```\s*(\w*)', lines[i])
        if fence:
            start, body, i = i + 2, [], i + 1
            while i < len(lines) and not re.match(r'^\s*```\s*$', lines[i]):
                body.append(lines[i])
                i += 1
            if fence.group(1) in SHELL_FENCES:
                blocks.append((start, body))
            i += 1
        elif lines[i].startswith('    ') and (i == 0 or not lines[i - 1].strip()):
            start, body = i + 1, []
            while i < len(lines) and (lines[i].startswith('    ') or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append((start, body))
        else:
            i += 1
    return blocks


def commands_of(lines: List[str]) -> List[str]:
    """Logical command lines: continuations joined, comments and blanks dropped."""
    joined, current = [], ''
    for line in lines:
        current += ' ' + line.strip()
        if current.endswith('\\'):
            current = current[:-1]
            continue
        joined.append(current)
        current = ''
    joined.append(current)
    commands = []
    for line in joined:
        line = re.sub(r'(^|\s)#.*$', '', line)  # a comment, not a '#' inside a word
        line = ' '.join(line.split())
        if line:
            commands.append(line)
    return commands


def documented_commands() -> List[Tuple[str, str]]:
    """(where, command) for every command of README.md and docs/*.md."""
    found = []
    for doc in DOCS:
        for start, body in code_blocks(doc.read_text()):
            for command in commands_of(body):
                found.append((f'{doc.relative_to(REPO)}:{start}', command))
    return found


def entry_for(command: str) -> Optional[Tuple[Entry, Dict[str, str]]]:
    for entry in COMMANDS:
        match = re.fullmatch(entry.pattern, command)
        if match:
            return entry, {k: v for k, v in match.groupdict().items() if v is not None}
    return None


def reduced_forms() -> Dict[str, Run]:
    """Each distinct reduced form (pattern groups filled in) of the documented commands."""
    forms: Dict[str, Run] = {}
    for _, command in documented_commands():
        found = entry_for(command)
        if found and isinstance(found[0].action, Run):
            entry, groups = found
            template = entry.action.template
            for name, value in groups.items():
                template = template.replace('{' + name + '}', value)
            forms[template] = entry.action
    return forms


REDUCED = reduced_forms()


# ----------------------------------------------------------------------------- mapping
def test_extraction_reads_both_block_kinds():
    text = ('Intro\n\n    make demo   # comment\n    a \\\n      b\n\nText\n'
            '```bash\n# only a comment\nmim test x  # c\n```\n```python\nx = 1\n```\n')
    blocks = code_blocks(text)
    assert [commands_of(body) for _, body in blocks] == [['make demo', 'a b'], ['mim test x']]


def test_every_documented_command_is_mapped():
    commands = documented_commands()
    assert len(commands) > 30, 'the extraction found too few commands'
    unmapped = [f'{where}: {command}' for where, command in commands if not entry_for(command)]
    assert not unmapped, ('commands in the docs with no entry in COMMANDS (see the '
                          'docstring of tests/test_docs_commands.py):\n' + '\n'.join(unmapped))


def test_every_entry_is_used_and_its_evidence_exists():
    commands = [command for _, command in documented_commands()]
    for entry in COMMANDS:
        assert any(re.fullmatch(entry.pattern, c) for c in commands), \
            f'no documented command matches {entry.pattern!r}: remove the entry'
        action = entry.action
        if isinstance(action, ByTest):
            path, name = action.node.split('::')
            assert (REPO / path).is_file(), action.node
            assert re.search(rf'^def {name}\(', (REPO / path).read_text(), re.M), action.node
        elif isinstance(action, ByCI):
            assert action.text in (REPO / action.file).read_text(), (action.file, action.text)


def test_setup_extras_are_the_requirement_pins(monkeypatch):
    """``pip install -e .[onedl]`` / ``[openmmlab]`` get the pins CI installs."""
    import runpy

    import setuptools
    captured = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kwargs: captured.update(kwargs))
    monkeypatch.setattr(sys, 'argv', ['setup.py', '--name'])
    monkeypatch.chdir(REPO)
    runpy.run_path(str(REPO / 'setup.py'), run_name='__main__')
    extras = captured['extras_require']

    def pins(name):
        lines = (REPO / 'requirements' / f'{name}.txt').read_text().splitlines()
        return {line.split('#')[0].strip() for line in lines
                if line.split('#')[0].strip() and not line.startswith(('-', 'torch'))}

    assert set(extras['onedl']) == pins('onedl')
    assert pins('openmmlab') - {'setuptools<81'} <= set(extras['openmmlab'])
    assert 'mmcv==2.1.0' in extras['openmmlab']
    assert set(captured['install_requires']) == pins('runtime')


# ----------------------------------------------------------------------------- runs
TINY_DATA_OPTS = ' '.join(
    f'{loader}.dataset.data_root={{data}} {loader}.num_workers=0 '
    f'{loader}.persistent_workers=False'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
TINY_OPTS = (
    TINY_DATA_OPTS + ' train_dataloader.batch_size=2 train_cfg.max_iters=2 '
    'train_cfg.val_interval=2 default_hooks.checkpoint.interval=2 '
    'model.backbone.init_cfg=None model.backbone.depth=18 model.backbone.base_channels=8 '
    'model.backbone.stem_channels=16 model.decode_head.in_channels=64 '
    'model.decode_head.channels=16 model.auxiliary_head.in_channels=32 '
    'model.auxiliary_head.channels=8 model.data_preprocessor.size="(48,48)" '
    'train_dataloader.dataset.pipeline.3.scale="(64,64)" '
    'train_dataloader.dataset.pipeline.4.crop_size="(48,48)"')
# The test pipelines' Resize (the authors' protocol has none: it resizes in the model).
TINY_RESIZE = ('val_dataloader.dataset.pipeline.1.scale="(64,64)" '
               'test_dataloader.dataset.pipeline.1.scale="(64,64)"')
# Framework messages the entry points silence (tools/*.py; mim runs the framework's own).
SILENCED = ('Could not import OneDL', 'MultiScaleDeformableAttention', 'avg_non_ignore',
            'pretrained is a deprecated', '"FileClient" will be deprecated')


def _shell(command: str, cwd: Path = REPO, timeout: int = 600) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='2',
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get('PYTHONPATH'))
                                          if p))
    result = subprocess.run(['bash', '-c', command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f'{command}\n exit {result.returncode}:\n{output[-4000:]}'
    return output


def _format(template: str, tmp: Path, tiny: dict) -> str:
    python = sys.executable
    return template.format(python=python, mim=osp.join(osp.dirname(python), 'mim'),
                           tmp=tmp, ckpt=tiny.get('ckpt', ''),
                           train_dir=osp.dirname(tiny.get('ckpt', '')),
                           tiny=TINY_OPTS.format(data=tiny['data']) + ' ' + TINY_RESIZE,
                           tiny_model=TINY_OPTS.format(data=tiny['data']))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A 48x48 ADE20K-layout dataset and a checkpoint trained by TINY_TRAIN."""
    from frameworks_tiny import make_ade20k
    root = tmp_path_factory.mktemp('docs_commands')
    state = {'data': make_ade20k(root / 'ade', num_train=4, num_val=2)}
    work_dir = root / 'train'
    state['train_output'] = _shell(_format(TINY_TRAIN, work_dir, state))
    state['ckpt'] = str(work_dir / 'iter_2.pth')
    assert osp.isfile(state['ckpt']), state['train_output'][-3000:]
    return state


@pytest.mark.slow
@pytest.mark.parametrize('template', sorted(REDUCED),
                         ids=lambda t: ' '.join(re.sub(r'\{\w+\}', '', t).split()[:4]))
def test_reduced_command_runs(template, tiny, tmp_path):
    if template == TINY_TRAIN:  # the fixture ran it
        output = tiny['train_output']
    else:
        output = _shell(_format(template, tmp_path, tiny))
    expect = REDUCED[template].expect
    if expect:
        assert expect in output, output[-3000:]
    if template.startswith('{python} tools/'):
        assert not [m for m in SILENCED if m in output], output[-3000:]
    if 'tools/test.py' in template:
        assert list((tmp_path / 'out').glob('*.png')), 'no --out label maps'
        assert list((tmp_path / 'vis').rglob('*.png')), 'no --show-dir images'
