#!/usr/bin/env python3
"""Run the notebooks' tests without nbdev, for a stack nbdev 2 can't install on (fastcore 2: nbdev 2.4 needs < 2).

Does what `nbdev_test` does: every code cell of every notebook in nbs/ in order, in a fresh process per notebook with
the notebook's folder as the working directory, skipping cells marked `#| eval: false` or with a flag of
settings.ini's `tst_flags` that is not passed in --flags, and the `nbdev_export()` cell; it also leaves out the
`from nbdev.showdoc import *` line (documentation, not tests). Prints each notebook's seconds; exits 1 on a failure.

Each notebook's process is forked from one that has imported torch, fastai and paddy_road once (multiprocessing's
forkserver, with those modules preloaded; nothing else runs there, and CUDA is never touched), so that 40 notebooks
don't pay 40 imports of a few seconds each: the same fresh process, without the wait. Its output goes to a file, shown
when it dies. (The server's own import warnings, torch's jit deprecation, are printed once.)

Usage: python .ci/nbrun.py [--flags slow] [--n_workers 2] [notebook ...]
"""
import argparse, configparser, json, multiprocessing as mp, os, sys, tempfile, time, traceback, types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'.ci'))
from nbcells import ExecShell, execute, source   # noqa: E402 (the one way CI runs a notebook's cells)
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')

def run(fn:Path, skip:set) -> tuple:
    "Run one notebook's cells in this process (nbcells.execute, plain exec); (name, seconds, error text or None)."
    os.chdir(fn.parent); sys.path.insert(0, str(root))
    os.environ.setdefault('MPLBACKEND', 'Agg')
    main = sys.modules['__main__'] = types.ModuleType('__main__')   # classes pickle as `__main__.X`, as in Jupyter
    cells, t0 = json.loads(fn.read_text())['cells'], time.time()
    i, err = execute(cells, ExecShell(main.__dict__, fn.name), skip, preamble=None)
    if err is None: return fn.name, time.time() - t0, None
    tb = ''.join(traceback.format_exception(err)) if isinstance(err, BaseException) else str(err)
    return fn.name, time.time() - t0, f'cell {i}:\n{source(cells[i])}\n\n{tb}'

CTX = mp.get_context('forkserver')
PRELOAD = ['torch', 'fastai.vision.all', 'paddy_road.all']   # by name: Python 3.11's forkserver ignores sys.path

def _child(fn:str, skip:set, log:str, conn):
    "In a process forked from the preloaded server: the notebook's output into `log`, its result through `conn`."
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1); os.dup2(fd, 2)
    conn.send(run(Path(fn), skip))

def in_subprocess(fn:Path, skip:set) -> tuple:
    "Run one notebook in a fresh process of its own (its DataLoaders may start worker processes of their own)."
    with tempfile.TemporaryDirectory() as d:
        log, (recv, send) = f'{d}/output.log', CTX.Pipe(duplex=False)
        p = CTX.Process(target=_child, args=(str(fn), skip, log, send))
        p.start(); send.close()
        try: res = recv.recv()
        except EOFError: res = None   # it died before it could say
        p.join()
        if res is None: return fn.name, 0., f'the process died ({p.exitcode}):\n{Path(log).read_text()[-3000:]}'
        return tuple(res)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('notebooks', nargs='*'); ap.add_argument('--flags', default='')
    ap.add_argument('--n_workers', type=int, default=2)
    a = ap.parse_args()
    skip = set(cfg['DEFAULT'].get('tst_flags', '').split()) - set(a.flags.split())
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((root/cfg['DEFAULT']['nbs_path']).glob('[!_]*.ipynb'))
    os.environ.setdefault('MPLBACKEND', 'Agg')   # before the server imports matplotlib (through fastai)
    CTX.set_forkserver_preload(PRELOAD)
    with ThreadPoolExecutor(a.n_workers) as ex: results = list(ex.map(lambda n: in_subprocess(n, skip), nbs))
    for name, secs, err in sorted(results, key=lambda r: -r[1]):
        print(f'{name}: {secs:.0f} s' + (' FAILED' if err else ''))
    failed = [(n, e) for n, _, e in results if e]
    for n, e in failed: print(f'\n===== {n} failed at {e}', file=sys.stderr)
    sys.exit(1 if failed else 0)
