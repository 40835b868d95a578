"""CI only: the README's `nbdev_test` records each notebook's outputs, so that the docs' output check reuses that run
instead of executing every notebook a second time.

`.ci/run` puts a one-line .pth file into job 1's venv that runs this file in any Python process started with
PADDY_DOCS_RECORD set to a folder. In `nbdev_test` (and only there) it wraps execnb's `CaptureShell.run_all`: each
notebook starts from the docs' seeds and warning filter (.ci/nbcells.py's PREAMBLE, as a docs run does), every cell that
runs starts with no outputs (execnb would keep a cell's committed ones when it prints nothing), and when the notebook
ends, passed or failed, `<folder>/<notebook>.json` holds the outputs of the cells that ran, by cell id. Without the
variable nothing changes: a user's `nbdev_test` is nbdev's own.
"""
import json, os, sys, warnings
from pathlib import Path

def _install(folder:Path):
    from execnb.shell import CaptureShell
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nbcells import PREAMBLE   # the seeds every CI run of a notebook starts from
    orig = CaptureShell.run_all
    def run_all(self, nb, exc_stop=False, preproc=lambda c: False, postproc=lambda c: False, **kw):
        ran, name = {}, Path(nb.get('path_', 'unknown')).stem
        def pre(cell):
            skip = preproc(cell)
            if not skip and cell.cell_type == 'code': cell.outputs, ran[cell.get('id')] = [], cell
            return skip
        os.environ['PYTHONWARNINGS'] = 'ignore'; warnings.simplefilter('ignore')   # as the docs run: see .ci/docs.py
        self.run_cell(PREAMBLE)
        try: return orig(self, nb, exc_stop=exc_stop, preproc=pre, postproc=postproc, **kw)
        finally:
            outs = {i: [dict(o) for o in c.get('outputs', [])] for i, c in ran.items()}
            res = dict(outputs=outs, exc=None if self.exc is None else f'{type(self.exc).__name__}: {self.exc}'[:500])
            folder.mkdir(parents=True, exist_ok=True)
            (folder/f'{name}.json').write_text(json.dumps(res, default=str))
    CaptureShell.run_all = run_all

# sys.orig_argv, since runpy.run_path (the .pth file's means) sets sys.argv[0] to this file while it runs
if os.environ.get('PADDY_DOCS_RECORD') and 'nbdev_test' in [Path(a).name for a in sys.orig_argv[:2]]:
    _install(Path(os.environ['PADDY_DOCS_RECORD']))
