"""The one way CI reads and runs a notebook's cells: nbdev's `#|` directives, which cells run, and running them.

Every CI step that runs notebooks goes through `execute`: .ci/nbrun.py (job 2, where nbdev and execnb can't be
installed: a plain `exec` shell), .ci/docs.py and .ci/kaggle.py (execnb's `CaptureShell`, which keeps each cell's
outputs). The README's `nbdev_test` is nbdev's own runner; .ci/record.py records its outputs, from the same `PREAMBLE`.
.ci/readme.py and .ci/docs.py read directives with `directives`.
"""
import linecache

PREAMBLE = 'import random as _r, numpy as _np, torch as _t; _r.seed(0); _np.random.seed(0); _t.manual_seed(0)'

def directives(src:str) -> dict:
    "nbdev's `#| key: value` lines at the top of a cell, as {key: value}."
    res = {}
    for line in src.splitlines():
        if not line.startswith('#|'): break
        key, _, val = line[2:].strip().partition(' ')
        if key: res[key.rstrip(':')] = val.strip()
    return res

def runs(src:str, skip:set) -> bool:
    "Whether a test run executes this code cell: not the export cell, not `eval: false`, no flag in `skip`."
    d = directives(src)
    return 'nbdev_export(' not in src and d.get('eval', '').lower() != 'false' and not skip & set(d)

class ExecShell:
    "What `execute` needs of a shell, with plain `exec` in one namespace: no IPython, no outputs kept."
    def __init__(self, ns:dict, name:str='notebook'): self.ns, self.exc, self.name = ns, None, name
    def run_cell(self, code:str): self._run(code, f'{self.name} preamble')
    def cell(self, c):
        code = '\n'.join(l for l in source(c).splitlines() if l.strip() != 'from nbdev.showdoc import *')  # docs only
        self._run(code, f"{self.name} cell {c.get('id')}")
    def _run(self, code:str, name:str):
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)   # inspect.getsource works
        try: exec(compile(code, name, 'exec'), self.ns); self.exc = None
        except BaseException as e: self.exc = e

def source(c) -> str:
    "A cell's code: execnb's cells hold a str, a notebook's JSON a list of lines."
    return c['source'] if isinstance(c['source'], str) else ''.join(c['source'])

def execute(cells:list, shell, skip=frozenset(), preamble:str=PREAMBLE) -> tuple:
    """Run `cells` (execnb's, or a notebook's JSON cells) in `shell`, from the seeds of `preamble`:
    every code cell's outputs emptied first, the cells that run (`runs`) in order, stopping at the first that raises or
    shows an error. Returns (index of that cell or None, its error: the exception or the error output)."""
    if preamble: shell.run_cell(preamble)
    for c in cells:
        if c['cell_type'] == 'code': c['outputs'] = []   # execnb keeps a cell's old outputs when it prints nothing
    for i, c in enumerate(cells):
        if c['cell_type'] != 'code' or not runs(source(c), skip): continue
        shell.cell(c)
        err = shell.exc if shell.exc is not None else next(
            (o for o in c.get('outputs', []) if o['output_type'] == 'error'), None)
        if err is not None: return i, err
    return None, None
