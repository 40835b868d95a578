#!/usr/bin/env python3
"""What a user sees for a few bad inputs, now and at an earlier commit: exit status, lines on stderr, the last line.

Each case runs in a fresh Python (a console script, or a call through `python -c`) with the working directory at the
commit's tree (a temporary git worktree for `--before`), on a small synthetic set made once. Prints a table and saves
bench/results/messages.json.

Usage: python bench/messages.py [--before 5a8ab82]
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent

SETUP = '''
import sys, shutil; sys.path.insert(0, '.')
from pathlib import Path
'''
CASES = {  # name: python code run as a user would (a script's own `main` is called with its argv)
    'paddy_demo --epochs -1': "from paddy_road.cli import paddy_demo; import sys; "
        "sys.argv = ['paddy_demo', '--path', PADDY, '--stages', 'train', '--epochs', '-1', '--out', OUT]; paddy_demo()",
    'paddy_demo --gpu 0': "from paddy_road.cli import paddy_demo; import sys; "
        "sys.argv = ['paddy_demo', '--path', PADDY, '--stages', 'memory', '--gpu', '0', '--out', OUT]; paddy_demo()",
    "train.csv with an age of 'forty-five'": "from paddy_road.data import check_paddy; import pandas as pd; "
        "p = Path(OUT)/'set'; shutil.copytree(PADDY, p); df = pd.read_csv(p/'train.csv', dtype=str); "
        "df.loc[5, 'age'] = 'forty-five'; df.to_csv(p/'train.csv', index=False); check_paddy(p)",
    'u.data with a header row': "from paddy_road.collab import load_movielens; from paddy_road.synth import "
        "synth_ratings; p = synth_ratings(Path(OUT)/'ml', n_users=20, n_movies=30, n_ratings=200); "
        "(p/'u.data').write_text('user\\tmovie\\trating\\ttimestamp\\n' + (p/'u.data').read_text()); load_movielens(p)",
    'three ratings': "from paddy_road.collab import load_movielens; from paddy_road.fastcollab import tensor_dls; "
        "from paddy_road.synth import synth_ratings; r = load_movielens(synth_ratings(Path(OUT)/'ml3', n_users=20, "
        "n_movies=30, n_ratings=200)).head(3); tensor_dls(r)",
    'a stray image in train_images/': "from paddy_road.data import check_paddy; p = Path(OUT)/'stray'; "
        "shutil.copytree(PADDY, p); f = sorted((p/'train_images').glob('*/*.jpg'))[0]; "
        "shutil.copy(f, p/'train_images'/'stray.jpg'); print(check_paddy(p)['n_train'])",
}

def run_all(tree:Path, paddy:Path) -> dict:
    "Each case in a fresh Python at `tree`: (exit status, stderr lines, its last line)."
    res = {}
    for name, code in CASES.items():
        with tempfile.TemporaryDirectory() as out:
            pre = SETUP + f'PADDY, OUT = {str(paddy)!r}, {out!r}\n'
            r = subprocess.run([sys.executable, '-c', pre + code], cwd=tree, capture_output=True, text=True,
                               env=os.environ | dict(PYTHONWARNINGS='ignore', HF_HUB_OFFLINE='1'), timeout=900)
        lines = [l for l in r.stderr.splitlines() if l.strip() and 'Warning' not in l and 'warnings.warn' not in l]
        res[name] = dict(exit=r.returncode, stderr_lines=len(lines), last=lines[-1] if lines else '',
                         stdout_tail=r.stdout.strip().splitlines()[-1:] or [''])
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--before', default='5a8ab82', help="an earlier commit to compare with ('' for none)")
    ap.add_argument('--out', default=str(root/'bench'/'results'/'messages.json'))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        paddy = Path(d)/'paddy'
        subprocess.run([sys.executable, '-c', f"import sys; sys.path.insert(0, '.'); from paddy_road.synth import "
                        f"synth_paddy; synth_paddy({str(paddy)!r}, scale=0.02, floor=8, size=(60, 80))"], cwd=root,
                       check=True, capture_output=True)
        res = dict(now=run_all(root, paddy))
        if a.before:
            wt = Path(d)/'before'
            r = subprocess.run(['git', 'worktree', 'add', '--detach', str(wt), a.before], cwd=root, capture_output=True,
                               text=True)
            if r.returncode: sys.exit(f'messages: --before {a.before} is not a commit here: {r.stderr.strip()}')
            try: res |= dict(before_rev=a.before, before=run_all(wt, paddy))
            finally: subprocess.run(['git', 'worktree', 'remove', '--force', str(wt)], cwd=root, capture_output=True)
    for name in CASES:
        for when in ('before', 'now'):
            if when in res:
                x = res[when][name]
                print(f"{name:38} {when:6} exit {x['exit']}, {x['stderr_lines']:3} line(s): {x['last'][:150]}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')

if __name__ == '__main__': main()
