"""CI's wall time, side by side: `.ci/run` at two commits, each from a clean clone with fresh venvs, on this machine.

A CI time measured on one machine says little about another: the same `.ci/run` has taken 544 s on one of this
project's 2-core machines and 1174-1214 s on another. What a change did to CI is a ratio measured in one sitting, on one
machine, with nothing else running. The base defaults to b5bdcc9, the commit whose CI ("about 11 minutes") was
set as the bound. Runs go in the order given (`--order base,head,head,base` balances a drift of the machine's speed).
Each run's phases come from `.ci/run`'s own "ci: ... (N s so far)" lines, with the CPU seconds of all its processes.
Results are saved after every run to --out; called again with the same commits and order, it skips the runs already
there, so an interrupted benchmark resumes. Only committed work is measured (each run is a clone).
Run: python bench/ci.py [--base REV] [--head REV] [--order base,head]
"""
import argparse, json, os, platform, re, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from fastprogress.fastprogress import progress_bar

root = Path(__file__).resolve().parent.parent

def sha(rev:str) -> str:
    r = subprocess.run(['git', '-C', str(root), 'rev-parse', '--verify', f'{rev}^{{commit}}'], capture_output=True,
                       text=True)
    if r.returncode: sys.exit(f'bench/ci.py: error: {rev!r} is not a commit of {root}; pass a hash or a branch')
    return r.stdout.strip()

def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def phases(log:str) -> dict:
    "`.ci/run`'s stamps, 'ci: <what> (<n> s so far)', as {what: n}; pytest's pass counts as 'pytest'."
    res = {m[1]: int(m[2]) for m in re.finditer(r'^ci: (.*?) \((\d+) s so far\)$', log, re.M)}
    res['pytest'] = re.findall(r'=+ (\d+ passed.*?) in [\d.]+s', log)
    return res

def run_ci(commit:str, work:Path) -> dict:
    "Clone this repository at `commit` into `work` and run its `.ci/run` there; its log, phases and times."
    clone = work/'clone'
    subprocess.run(['git', 'clone', '-q', str(root), str(clone)], check=True)
    subprocess.run(['git', '-C', str(clone), 'checkout', '-q', commit], check=True)
    env = {**os.environ, 'CI_VENV': str(work/'venv'), 'CI_VENV2': str(work/'venv2')}
    cpu0, t0 = cpu_seconds(), time.time()
    p = subprocess.run(['bash', '.ci/run'], cwd=clone, env=env, capture_output=True, text=True)
    wall, cpu = time.time() - t0, cpu_seconds() - cpu0
    log = p.stdout + p.stderr
    return dict(commit=commit, returncode=p.returncode, wall_s=round(wall), cpu_s=round(cpu), phases=phases(log),
                log_tail=[l for l in log.splitlines() if not l.startswith('WARNING: Location')][-15:])

def machine() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines()
                if l.startswith('model name')), platform.processor())
    return dict(cores=os.cpu_count(), cpu=cpu, python=platform.python_version(),
                mem_gib=round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30))

def summary(res:dict) -> str:
    lines = [f"{r['name']} {r['commit'][:7]}: {r['wall_s']} s wall, {r['cpu_s']} CPU s, rc {r['returncode']}"
             for r in res['runs']]
    walls = {n: [r['wall_s'] for r in res['runs'] if r['name'] == n and r['returncode'] == 0] for n in ('base', 'head')}
    if all(walls.values()):
        b, h = (sum(v) / len(v) for v in walls.values())
        n = {k: len(v) for k, v in walls.items()}
        lines.append(f"head / base wall time: {h / b:.2f} (means of {n['head']} and {n['base']} runs)")
    return '\n'.join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--base', default='b5bdcc9', help='the commit to compare with (default: where the bound was set)')
    ap.add_argument('--head', default='HEAD', help='the commit measured')
    ap.add_argument('--order', default='base,head', help='comma-separated order of the runs, e.g. base,head,head,base')
    ap.add_argument('--out', default=str(root/'bench'/'results'/'ci_time.json'), help='results (saved after each run)')
    a = ap.parse_args()
    order = a.order.split(',')
    if bad := set(order) - {'base', 'head'}:
        sys.exit(f'bench/ci.py: error: --order {a.order!r}: {sorted(bad)} not base or head; e.g. --order base,head')
    commits = dict(base=sha(a.base), head=sha(a.head))
    out = Path(a.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    if res.get('commits') != commits:   # another comparison; the base's runs are kept when only the head moved on
        kept = [r for r in res.get('runs', []) if r['commit'] == commits['base'] and r['name'] == 'base']
        res = dict(commits=commits, machine=machine(), runs=kept if order[:len(kept)] == ['base'] * len(kept) else [])
    done = [r['name'] for r in res['runs']]
    if done != order[:len(done)]:
        sys.exit(f'bench/ci.py: error: {out} holds the runs {",".join(done)} of these commits, not the start of '
                 f'--order {a.order}; pass that order to resume, or another --out to start over')
    for i, name in enumerate(progress_bar(order)):
        if i < len(done): continue                              # done by an earlier, interrupted call
        work = Path(tempfile.mkdtemp(prefix=f'ci_{name}_'))
        try: r = run_ci(commits[name], work)
        finally: shutil.rmtree(work, ignore_errors=True)
        res['runs'].append(dict(name=name, date=time.strftime('%Y-%m-%d %H:%M'), **r))
        out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1) + '\n')
        print(f"{name}: {r['wall_s']} s (rc {r['returncode']})", flush=True)
    print(summary(res))

if __name__ == '__main__': main()
