"""A local web page to try a segmentor: upload an image, see the overlay, legend and shares.

    python tools/web_demo.py                           # the `make demo` model
    python tools/web_demo.py CONFIG CHECKPOINT [--port 7860] [--host 127.0.0.1]
        [--backend onnxruntime|openvino --onnx FILE]

Needs Gradio (``pip install -e .[demo]``). The page shows the prediction blended over the
image (with an opacity slider that redraws without running the model again), and a table
of the classes present with their colours and the share of pixels each one covers.
"""
import argparse
import html
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

DEMO_CONFIG = osp.join(REPO_ROOT, 'configs/demo/pspnet_r18_context_demo.py')
DEMO_WORK_DIR = osp.join(REPO_ROOT, 'work_dirs/demo')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='model config (default: the demo config)')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint (default: the one `make demo` trained)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to serve on (0.0.0.0 makes the page reachable '
                        'from other machines)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--device', default='cpu', help='torch device, e.g. cpu or cuda:0')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='initial opacity of the prediction over the image')
    parser.add_argument('--backend', choices=['onnxruntime', 'openvino'],
                        help='run the graph of --onnx on this runtime instead of PyTorch')
    parser.add_argument('--onnx', help='the graph for --backend (.onnx, or .xml for '
                        'openvino), e.g. from tools/quantize.py')
    args = parser.parse_args(argv)
    if (args.backend is None) != (args.onnx is None):
        parser.error('--backend and --onnx go together')
    return args


def resolve_model_files(config: Optional[str], checkpoint: Optional[str]) -> Tuple[str, str]:
    """The config and checkpoint to serve; the demo's when none are given."""
    if (config is None) != (checkpoint is None):
        sys.exit('web_demo.py: give both CONFIG and CHECKPOINT, or neither for the demo model')
    if config is None:
        config = DEMO_CONFIG
        pointer = osp.join(DEMO_WORK_DIR, 'last_checkpoint')
        checkpoint = None
        if osp.isfile(pointer):
            with open(pointer) as f:
                checkpoint = f.read().strip()
        if checkpoint is None or not osp.isfile(checkpoint):
            sys.exit(f'web_demo.py: no trained demo model ({pointer} is missing or names a '
                     'missing file); run `make demo` first, or pass CONFIG CHECKPOINT')
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if not osp.isfile(path):
            sys.exit(f'web_demo.py: {what} file {path!r} does not exist')
    return config, checkpoint


def shares_table(label: np.ndarray, classes, palette) -> str:
    """HTML legend: colour, class name and pixel share of each class present."""
    from mmseg_psp_ext.visualization import class_shares
    rows = []
    for share in class_shares(label, classes):
        r, g, b = (int(c) for c in palette[share.index])
        percent = 100 * share.share
        rows.append(
            '<tr class="legend-row">'
            f'<td><span style="display:inline-block;width:14px;height:14px;'
            f'border:1px solid #333;background:rgb({r},{g},{b})"></span></td>'
            f'<td class="legend-name">{html.escape(share.name)}</td>'
            f'<td class="legend-share" style="text-align:right">{percent:.1f}%</td>'
            f'<td style="width:160px"><div style="height:10px;width:{percent:.1f}%;'
            f'background:rgb({r},{g},{b})"></div></td></tr>')
    return ('<table id="legend-table"><thead><tr><th></th><th>class</th>'
            '<th style="white-space:nowrap">share of pixels</th><th></th></tr></thead>'
            '<tbody>' + ''.join(rows) + '</tbody></table>')


def build_app(model, opacity: float = 0.5, title: str = 'PSPNet'):
    """The Gradio page around ``model`` (a segmentor from ``load_segmentor``)."""
    import gradio as gr

    from mmseg_psp_ext.visualization import model_classes_palette, overlay, predict_label
    classes, palette = model_classes_palette(model)

    def segment(image: Optional[np.ndarray], alpha: float):
        if image is None:
            return None, None, ''
        image = np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)
        label = predict_label(model, image)
        return ((image, label), overlay(image, label, palette, alpha),
                shares_table(label, classes, palette))

    def redraw(state, alpha: float):
        if state is None:
            return None
        image, label = state
        return overlay(image, label, palette, alpha)

    with gr.Blocks(title=f'{title} web demo', analytics_enabled=False) as app:
        gr.Markdown(f'## {html.escape(title)}: semantic segmentation\nUpload an image; '
                    'the prediction is drawn over it.')
        state = gr.State()
        with gr.Row():
            with gr.Column():
                image_in = gr.Image(type='numpy', label='Image', sources=['upload', 'clipboard'],
                                    elem_id='input-image')
                alpha = gr.Slider(0.0, 1.0, value=opacity, step=0.05, label='Opacity',
                                  elem_id='opacity')
            with gr.Column():
                image_out = gr.Image(type='numpy', format='png', label='Prediction',
                                     interactive=False, elem_id='overlay')
                legend = gr.HTML(label='Classes present (share of pixels)', elem_id='legend')
        image_in.change(segment, [image_in, alpha], [state, image_out, legend])
        alpha.change(redraw, [state, alpha], image_out)
    return app


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        sys.exit(f'web_demo.py: --opacity must lie in [0, 1], got {args.opacity}')
    config, checkpoint = resolve_model_files(args.config, args.checkpoint)
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    try:
        import gradio as gr
    except ImportError:
        sys.exit('web_demo.py: Gradio is not installed; install the demo extra with '
                 '`pip install -e .[demo]`')
    import mmseg_psp_ext  # registers the plugin
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    from mmseg_psp_ext.deploy.loading import CheckpointError, load_segmentor
    try:
        model = load_segmentor(config, checkpoint, device=args.device)
    except CheckpointError as err:
        sys.exit(f'web_demo.py: {err}')
    if args.backend:
        from mmseg_psp_ext.deploy import build_backend
        from mmseg_psp_ext.deploy.predictor import attach_backend
        try:
            attach_backend(model, build_backend(args.backend, args.onnx))
        except FileNotFoundError as err:
            sys.exit(f'web_demo.py: {err}')
    app = build_app(model, args.opacity, title=osp.splitext(osp.basename(config))[0])
    print(f'web_demo.py: serving {config} with {checkpoint}', flush=True)
    # System fonts: the default theme fetches web fonts, which fails offline.
    theme = gr.themes.Default(font=['system-ui', 'sans-serif'], font_mono=['monospace'])
    app.queue().launch(server_name=args.host, server_port=args.port, share=False,
                       ssr_mode=False, theme=theme, footer_links=[])


if __name__ == '__main__':
    main()
