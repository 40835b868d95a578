#!/usr/bin/env python3
"""A rehearsal of the part 3 lesson on Kaggle with the internet off, on this machine: `.ci/kaggle [--keep DIR]`.

A fake Kaggle root (`PADDY_KAGGLE_ROOT`) holds what a code-competition notebook has: `input/`, read-only (a bind mount,
as Kaggle's is), with paddy_road's wheel attached as a dataset and a synthetic Paddy set; an empty, writable `working/`,
where the notebook runs; Kaggle's variables (`KAGGLE_KERNEL_RUN_TYPE`), `HF_HUB_OFFLINE=1` and `PIP_NO_INDEX=1`. Each
version starts in a fresh venv without paddy_road: it sees this venv's packages the way Kaggle's image has them
preinstalled (a .pth line, so that paddy_road's editable install here stays out), and the lesson's first cell installs
paddy_road from the attached wheel, as the README says, with the index off.

1. the wheel: built from this tree (`pip wheel`, which may use the index: building is the maintainer's step), its data
   files and console scripts checked; then `from paddy_road.all import *` and `paddy_check` in a fresh venv;
2. version 1: the lesson top to bottom (its synthetic set asked for with PADDY_PATH, so QUICK), its ensemble cell on
   the path a T4 x2 run takes: two fresh (spawned) workers after this kernel has trained, fastai's own loader processes
   inside each (num_workers left to fastai), the plan timed in fresh workers first; every member trained in a worker;
3. version 2: version 1's output attached as an input, /kaggle/working empty again: it retrains no member, and its
   submission is the same file, byte for byte;
4. version 3: without the competition's data: it fails at once, at `paddy_path()`, with the attach message.

It needs a mount namespace (`unshare -m`, as root, or `unshare -rm`); without one it says so and fails.

What still differs from the lesson on Kaggle's T4 x2, each for its reason (ARCHITECTURE.md, "The rehearsal and a real
card", lists every `torch.cuda.is_available()` branch with the CPU test that reaches the code behind it):

- no GPU: the models train on the CPU in fp32 (fastai's mixed precision is CUDA's autocast and GradScaler), workers
  are not pinned to a GPU (`CUDA_VISIBLE_DEVICES`), the memory cells predict for a T4 instead of measuring, and bag's
  feed note (GPUs waiting for the CPU) is not said. A card run covers these: bench/two_workers.py, bench/gpu_check.py.
- `procs=2, minutes='measure'` are given by QUICK when on Kaggle: on a T4 x2 they are bag's defaults (a worker per
  GPU; 'auto' times on a GPU), and a CPU has no GPU to count. (Off Kaggle, as in the docs' run, QUICK keeps a CPU's
  own defaults: one process, no timing.)
- QUICK's sizes: tiny models (one block per stage, a few channels) with random weights (`pretrained=False`), one
  epoch, 120 training and 17 test images. So `find_weights` is not called here: no file of pretrained weights fits a
  tiny model. It is tested on Kaggle's layouts with real files on disk in tests/test_kaggle.py, and with a real file
  loaded bit for bit by `train` (`test_train_loads_a_local_file_bit_for_bit`).
- the clock: a session of minutes, not hours, so the budget never binds (tests/test_bag.py's plan tests bind it).
"""
import argparse, json, os, shutil, subprocess, sys, sysconfig, tempfile, time, zipfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbcells import execute   # noqa: E402 (the one way CI runs a notebook's cells)

root = Path(__file__).resolve().parent.parent
LESSON = root/'lessons'/'1_road_to_the_top_part_3.ipynb'
ATTACH = 'Add Input > Competitions > paddy-disease-classification'

def say(*a): print('kaggle:', *a, flush=True)

def fail(msg): say('FAILED:', msg); sys.exit(1)

def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], text=True, capture_output=True, **kw)

def run_notebook(fn:str) -> dict:
    "Run a notebook here, cell by cell, to the first error (nbcells.execute): the outputs' text, and where it stopped."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(fn)
    i, err = execute(nb.cells, CaptureShell())
    outs = [dict(cell=j, text=''.join(''.join(o.get('text', '')) if o['output_type'] == 'stream' else
                                      ''.join(o.get('data', {}).get('text/plain', '')) for o in c.outputs))
            for j, c in enumerate(nb.cells) if c.cell_type == 'code' and (i is None or j <= i)]
    if i is None: return dict(outputs=outs, error=None)
    name, msg = ((type(err).__name__, str(err)) if isinstance(err, BaseException) else
                 (err.get('ename'), err.get('evalue')))
    return dict(outputs=outs, error=dict(cell=i, name=name, message=str(msg)))

def fresh_venv(where:Path) -> Path:
    "A venv without paddy_road that sees this venv's packages, as Kaggle's image has them preinstalled."
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(where)], check=True)
    site = Path(run([where/'bin'/'python', '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                    check=True).stdout.strip())
    (site/'_kaggle_image.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')   # a path line: no .pth inside runs
    (where/'bin'/'pip').write_text(f'#!/bin/sh\nexec "{where}/bin/python" -m pip "$@"\n')   # this venv's pip
    (where/'bin'/'pip').chmod(0o755)
    return where

def version(n:int, kag:Path, env:dict, tmp:Path) -> tuple:
    "Version n of the notebook: a fresh venv, /kaggle/working emptied, the lesson run there. (result, venv, seconds)"
    venv = fresh_venv(tmp/f'venv{n}')
    shutil.rmtree(kag/'working'); (kag/'working').mkdir()
    env = env | dict(PATH=f"{venv/'bin'}:{env['PATH']}", VIRTUAL_ENV=str(venv))
    t = time.time()
    r = run([venv/'bin'/'python', __file__, '--notebook', LESSON], cwd=kag/'working', env=env)
    try: res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError): fail(f'version {n}: the kernel died: {r.stderr[-3000:]}')
    (tmp/f'version{n}.json').write_text(json.dumps(res, indent=1))   # with --keep: what each cell printed
    say(f'version {n}: {"ran top to bottom" if not res["error"] else "stopped: " + json.dumps(res["error"])[:400]} '
        f'in {time.time() - t:.0f} s')
    return res, venv, time.time() - t

def check_real_path(res:dict):
    "Version 1's ensemble: timed, then every member trained in one of two fresh workers, none failed."
    said = [l for o in res['outputs'] for l in o['text'].splitlines() if l.startswith('bag: ')]
    starts = [l for l in said if ' starting on ' in l]
    workers = {l.split('(worker ')[1].split(')')[0] for l in starts if '(worker ' in l}
    if len(starts) != 8 or workers != {'0', '1'}: fail(f"version 1's members did not start in two workers: {starts}")
    if 'bag: 8 of 8 members finished (8 trained).' not in said: fail(f"version 1's bag: {said[-1:]}")
    plan = next((o['text'] for o in res['outputs'] if 'measured on this card' in o['text']), None)
    if plan is None: fail("version 1's bag did not time its members in fresh workers before the plan")
    n = [sum(f'(worker {r})' in l for l in starts) for r in (0, 1)]
    say(f"version 1's ensemble: timed in two fresh workers, then its 8 members trained in two ({n[0]} + {n[1]}), "
        "with fastai's loader processes")

def check_wheel(whl:Path, venv:Path, kag:Path, env:dict):
    "The wheel holds its data and scripts; installed in a fresh venv, the package imports and paddy_check runs."
    names = zipfile.ZipFile(whl).namelist()
    if 'paddy_road/mem_traces.json' not in names: fail(f'{whl.name} lacks paddy_road/mem_traces.json')
    eps = next(n for n in names if n.endswith('entry_points.txt'))
    scripts = zipfile.ZipFile(whl).read(eps).decode()
    if not all(s in scripts for s in ('paddy_demo', 'paddy_synth', 'paddy_check')): fail(f'{eps}: {scripts}')
    r = run([venv/'bin'/'python', '-c', 'from paddy_road.all import *; import paddy_road, paddy_road.all as a; '
             'print(paddy_road.__file__, len(a.__all__))'], cwd=kag/'working', env=env)
    if r.returncode or not r.stdout.startswith(str(venv)): fail(f'import from the wheel: {r.stdout} {r.stderr[-2000:]}')
    say(f'{whl.name}: mem_traces.json and 3 console scripts in it; imported from {r.stdout.split()[0]} '
        f'({r.stdout.split()[1]} names)')
    r = run([venv/'bin'/'paddy_check'], cwd=kag/'working', env=env)
    if r.returncode or "(paddy_road's synthetic set, not the competition's data) is fine" not in r.stdout:
        fail(f'paddy_check: {r.stdout} {r.stderr}')
    say('paddy_check from the wheel:', next(l for l in r.stdout.splitlines() if l.startswith('paddy_check:')))

def inside(kag:Path, tmp:Path):
    "In a private mount namespace: input/ read-only over input-src/, then the three versions."
    src = kag.parent/'input-src'
    for cmd in (['mount', '--bind', src, kag/'input'], ['mount', '-o', 'remount,bind,ro', kag/'input']):
        if (r := run(cmd)).returncode: fail(f"{' '.join(map(str, cmd))}: {r.stderr.strip()}")
    try: (kag/'input'/'probe').write_text('x'); fail(f"{kag/'input'} is writable")
    except OSError as e: say(f"{kag/'input'} is read-only ({e.strerror})")
    mine = ('PADDY_', 'KAGGLE_', 'PIP_', 'VIRTUAL_ENV')
    env = {k: v for k, v in os.environ.items() if not k.startswith(mine)} | dict(
        KAGGLE_KERNEL_RUN_TYPE='Batch', KAGGLE_DATA_PROXY_TOKEN='none', PADDY_KAGGLE_ROOT=str(kag), HF_HUB_OFFLINE='1',
        PIP_NO_INDEX='1', PIP_NO_CACHE_DIR='1', PADDY_ROAD_CACHE=str(tmp/'cache'), OMP_NUM_THREADS='1',
        PYTHONHASHSEED='0', MPLBACKEND='agg', PADDY_PATH=str(kag/'input'/'paddy-synthetic'), PYTHONWARNINGS='ignore')
    whl = next((kag/'input'/'paddy-road-wheel').glob('paddy_road-*.whl'))
    v1, venv, _ = version(1, kag, env, tmp)
    if v1['error']: fail(f"version 1 stopped at cell {v1['error']}")
    if not (venv/'bin'/'paddy_check').exists(): fail("version 1's first cell did not install paddy_road's wheel")
    said = [o for o in v1['outputs'] if 'this Kaggle notebook has no GPU' in o['text']]
    if not said or 'paddy_path()' not in LESSON_CELLS[said[0]['cell']]: fail(
        "version 1 (no GPU) did not say so at paddy_path(), before the first epoch")
    say(f"version 1 said at cell {said[0]['cell']}, before any epoch: {said[0]['text'].splitlines()[-1][:110]}...")
    check_real_path(v1)
    check_wheel(whl, venv, kag, env)
    sub1 = (kag/'working'/'submission.csv').read_bytes()
    out1 = tmp/'input-v1'; shutil.copytree(kag/'working', out1)
    shutil.copytree(out1, src/'road-to-the-top-part-3')   # Add Input > Your Work > this notebook's version 1
    v2, _, _ = version(2, kag, env, tmp)
    if v2['error']: fail(f"version 2 stopped at cell {v2['error']}")
    said = '\n'.join(o['text'] for o in v2['outputs'])
    if 'bag: 8 of 8 members finished (8 resumed).' not in said or ' starting on ' in said: fail(
        "version 2 retrained members: " + '\n'.join(l for l in said.splitlines() if l.startswith('bag:'))[-3000:])
    if (kag/'working'/'submission.csv').read_bytes() != sub1: fail("version 2's submission.csv is not version 1's")
    say("version 2: 0 members retrained (8 taken over from version 1's output); the same submission.csv, byte for byte")
    env3 = {k: v for k, v in env.items() if k != 'PADDY_PATH'}
    v3, _, secs = version(3, kag, env3, tmp)
    e = v3['error'] or {}
    first = next(i for i, o in enumerate(v3['outputs']) if 'paddy_path()' in LESSON_CELLS[o['cell']])
    if not (e.get('name') == 'PaddyDataError' and ATTACH in e.get('message', '') and e.get('cell') ==
            v3['outputs'][first]['cell']): fail(f'version 3 without the data did not stop at paddy_path(): {e}')
    say(f"version 3 (no competition attached): stopped at cell {e['cell']}, paddy_path(), after {secs:.0f} s: "
        f"{e['message'][:160]}...")

LESSON_CELLS = [''.join(c['source']) for c in json.loads(LESSON.read_text())['cells']]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--keep', help='build the fake Kaggle here and leave it (default: a temporary folder, removed)')
    ap.add_argument('--notebook', help=argparse.SUPPRESS); ap.add_argument('--inside', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.notebook: print('\n' + json.dumps(run_notebook(a.notebook))); return
    if a.inside: inside(Path(a.inside)/'kaggle'/'root', Path(a.inside)); return
    t0 = time.time()
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix='kaggle-'))
    kag, src = tmp/'kaggle'/'root', tmp/'kaggle'/'input-src'
    for d in (kag/'input', kag/'working', src): d.mkdir(parents=True, exist_ok=True)
    # the wheel, built from this tree's files (a copy: nothing written into the repository)
    tree = tmp/'src'; files = run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=root, check=True).stdout.split()
    for f in files:
        if (root/f).is_file(): (tree/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(root/f, tree/f)
    r = run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', src/'paddy-road-wheel', tree])
    if r.returncode: fail(f'pip wheel: {r.stderr[-3000:]}')
    say(f"built {', '.join(p.name for p in (src/'paddy-road-wheel').iterdir())} in {time.time() - t0:.0f} s")
    from contextlib import redirect_stderr, redirect_stdout
    from paddy_road.synth import synth_default   # a dataset someone attached: the embedded synthetic set
    with open(os.devnull, 'w') as null, redirect_stdout(null), redirect_stderr(null):   # its progress bar
        shutil.copytree(synth_default(), src/'paddy-synthetic')
    cmd = ['unshare', '-m'] if os.geteuid() == 0 else ['unshare', '-rm']
    r = subprocess.run(cmd + [sys.executable, __file__, '--inside', str(tmp)])
    if not a.keep: shutil.rmtree(tmp, ignore_errors=True)
    say(f"{'passed' if r.returncode == 0 else 'FAILED'} in {time.time() - t0:.0f} s")
    sys.exit(r.returncode)

if __name__ == '__main__': main()
