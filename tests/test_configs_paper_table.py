"""configs/paper/metafile.yml lists every paper config and the table in docs/configs.md is current."""
import glob
import importlib.util
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'render_paper_table', osp.join(REPO, 'tools', 'render_paper_table.py'))
render_paper_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_paper_table)


def test_metafile_and_configs_match():
    rows = render_paper_table.load_rows()
    listed = {row['Config'] for row in rows}
    on_disk = {osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', 'paper', '*.py'))}
    assert len(on_disk) == 19
    assert listed == on_disk  # every listed config exists, every config is listed


def test_metafile_has_the_paper_tables():
    rows = render_paper_table.load_rows()
    per_table = {}
    for row in rows:
        per_table[row['Table']] = per_table.get(row['Table'], 0) + 1
    # rows in the paper: T1 7, T2 5, T3 4 depths x 2 test modes, T4 6, VOC 2, Cityscapes 2
    assert per_table == {1: 7, 2: 5, 3: 8, 4: 6, 6: 2, 7: 2}
    best = next(r for r in rows if r['Row'] == 'ResNet50+B1236+AVE+DR')
    assert best['Paper'] == {'mIoU': 41.68, 'aAcc': 80.04}
    assert len({(r['Table'], r['Row']) for r in rows}) == len(rows)


def test_docs_are_up_to_date():
    expected = render_paper_table.render(render_paper_table.load_rows())
    with open(render_paper_table.OUTPUT) as f:
        readme = f.read()
    assert render_paper_table.replace_section(readme, expected) == readme, \
        'run python tools/render_paper_table.py'
    assert expected in readme
    for row in render_paper_table.load_rows():
        assert f"configs/paper/{row['Config']}" in expected


def test_mim_models_are_up_to_date():
    """The metafile's Collections/Models (what `mim search` lists) are rendered from Rows."""
    with open(render_paper_table.METAFILE) as f:
        text = f.read()
    assert render_paper_table.replace_mim_index(text, render_paper_table.load_rows()) == text, \
        'run python tools/render_paper_table.py'
    import yaml
    models = yaml.safe_load(text)['Models']
    assert len(models) == 19 and all('Weights' not in m for m in models)
    r269 = next(m for m in models if m['Name'].startswith('pspnet_r269'))
    assert r269['Results'] == [dict(Task='Semantic Segmentation', Dataset='ADE20K val', Metrics={
        'mIoU': 43.81, 'aAcc': 80.88, 'mIoU(ms)': 44.94, 'aAcc(ms)': 81.69})]
