#!/usr/bin/env python
"""Collaborative filtering: the lesson's model against the dedicated library, and from ml-100k to 25M ratings.

Part 1, MovieLens ml-100k (MOVIELENS_PATH or --path; the same random 80/20 split, seed 42, for every path). The lesson's
recipe (DotProductBias, 50 factors, bs 64, fit_one_cycle(5, 5e-3, wd=0.1)) through:
  - fit_fast, lazy Adam (numba, the default on a CPU): wall time of the whole fit (5 epochs, each validated), the
    first fit in the process (its compiled kernel loaded, or compiled) and the later ones; valid MSE over --seeds;
  - fit_fast, dense (fastai's own Adam, step for step): valid MSE over the same seeds, the reference for lazy Adam;
  - fastai CollabDataLoaders + Learner (with the TabDataLoader fix, and fastai's default loader): seconds per epoch;
  - scikit-surprise's SVD (pip install -e ".[bench]"), default settings (20 epochs, 100 factors): fit seconds and
    valid MSE over the same seeds, and the trainset's build time apart.
  Targets: fit_fast at MSE <= 0.82 in less wall time than Surprise's fit; >= 20x fastai's seconds per epoch.
Part 2, --scale: synthetic ratings shaped like MovieLens 100k, 1M, 10M and 25M (paddy_road.synth.movielens_like),
  each path at each size in its own process: seconds per epoch, peak resident memory (VmHWM), valid MSE. fit_fast
  (lazy Adam) runs 2 epochs (the first loads the compiled kernel; the second is timed), and 5 epochs with the lesson's
  weight decay per epoch on ml-100k spread over the set's steps (fastai's wd acts per step: at 25M ratings wd=0.1
  shrinks every row by e^-78 an epoch, so the lesson's wd alone says nothing of the model's accuracy there); dense
  Adam and fastai's Learner 1 epoch; Surprise its default 20. A path runs at a size only when its time there,
  projected from the size below, fits --limit seconds (default 600); Surprise runs under a memory limit (--mem-gib).
Writes bench/results/collab_ml100k.json and collab_scale.json (the plot in nbs/12_fastcollab.ipynb reads the latter).
Usage: python bench/collab.py [--path DIR] [--seeds 3] [--scale] [--sizes 100k 1m 10m 25m] [--paths ...] [--limit 600]
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from paddy_road.collab import DotProductBias, load_movielens                       # noqa: E402
from paddy_road.fastcollab import tensor_dls, fit_fast, _split                    # noqa: E402
from paddy_road.lazyadam import numba_available                                  # noqa: E402
from paddy_road.synth import MOVIELENS_SHAPES, movielens_like                     # noqa: E402

OUT, CACHE = ROOT/'bench'/'results', ROOT/'bench'/'out'
EPOCHS, LR, WD = 5, 5e-3, 0.1

def machine() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines()
                if l.startswith('model name')), platform.processor())
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                numba=_version('numba'), surprise=_version('surprise'), python=platform.python_version())

def _version(mod):
    try: return __import__(mod).__version__
    except ImportError: return None

def peak_rss_gib() -> float:
    "This process's peak resident memory (VmHWM), in GiB."
    line = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM'))
    return int(line.split()[1]) / 2**20

def model_for(dls, item='title'): return DotProductBias(len(dls.classes['user']), len(dls.classes[item]), 50)

def run_fast(dls, seed, engine='auto', epochs=EPOCHS, item='title', wd=WD) -> dict:
    torch.manual_seed(seed)
    m = model_for(dls, item)
    t = time.perf_counter()
    h = fit_fast(m, dls, epochs, LR, wd=wd, show=False, engine=engine)
    return dict(seconds=time.perf_counter() - t, s_per_epoch=float(h.time.iloc[-1]), mse=float(h.valid_loss.iloc[-1]),
                engine=h.attrs['engine'], epoch_times=h.time.tolist(), epochs=epochs, wd=wd)

def run_fastai(dls, seed, epochs=EPOCHS, item='title') -> dict:
    from fastai.learner import Learner
    from fastai.losses import MSELossFlat
    import fastai.callback.schedule   # noqa: F401 (fit_one_cycle)
    torch.manual_seed(seed)
    learn = Learner(dls, model_for(dls, item), loss_func=MSELossFlat())
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, LR, wd=WD)
    secs = time.perf_counter() - t
    return dict(seconds=secs, s_per_epoch=secs / epochs, mse=float(learn.recorder.values[-1][1]), epochs=epochs)

def run_surprise(trn:pd.DataFrame, val:pd.DataFrame, seed:int, item='title', n_epochs=20) -> dict:
    from surprise import Dataset, Reader, SVD
    t = time.perf_counter()
    ts = Dataset.load_from_df(trn[['user', item, 'rating']], Reader(rating_scale=(1, 5))).build_full_trainset()
    build = time.perf_counter() - t
    algo = SVD(random_state=seed, n_epochs=n_epochs)
    t = time.perf_counter(); algo.fit(ts); fit = time.perf_counter() - t
    pred = np.array([algo.predict(u, i).est for u, i in zip(val.user.to_numpy(), val[item].to_numpy())])
    return dict(seconds=fit, s_per_epoch=fit / n_epochs, build_seconds=build, epochs=n_epochs,
                mse=float(((pred - val.rating.to_numpy()) ** 2).mean()))

def summary(runs:list) -> dict:
    ms, ss = [r['mse'] for r in runs], [r['seconds'] for r in runs]
    return dict(mse_mean=float(np.mean(ms)), mse_sd=float(np.std(ms, ddof=1)) if len(ms) > 1 else 0., mses=ms,
                seconds_median=statistics.median(ss), seconds=ss,
                s_per_epoch_median=statistics.median(r['s_per_epoch'] for r in runs))

def part1(path, seeds:int) -> dict:
    ratings = load_movielens(path)
    print(f'{path}: {len(ratings):,} ratings, {ratings.user.nunique()} users, {ratings.title.nunique()} titles; '
          f'{machine()}', flush=True)
    tdls = tensor_dls(ratings, item_name='title', seed=42)
    trn, val = _split(len(ratings), 0.2, 42)
    trn_df, val_df = ratings.iloc[trn.numpy()], ratings.iloc[val.numpy()]
    res = {}
    first = run_fast(tdls, 0)   # the first fit of the process: the compiled kernel is loaded (or compiled) here
    res['fit_fast (lazy Adam, numba)'] = summary([run_fast(tdls, s) for s in range(seeds)]) | dict(
        first_fit_seconds=first['seconds'], engine=first['engine'])
    res['fit_fast (dense: fastai Adam)'] = summary([run_fast(tdls, s, 'dense') for s in range(seeds)])
    try: res['Surprise SVD (default, 20 epochs)'] = summary([run_surprise(trn_df, val_df, s) for s in range(seeds)])
    except ImportError: print('scikit-surprise is not installed: pip install -e ".[bench]"', flush=True)
    from fastai.collab import CollabDataLoaders
    from fastai.tabular.core import TabDataLoader, TabWeightedDL
    for name, dl_type in (('fastai CollabDataLoaders + Learner (TabDataLoader fix)', TabDataLoader),
                          ("fastai CollabDataLoaders + Learner (fastai's default loader)", TabWeightedDL)):
        dls = CollabDataLoaders.from_df(ratings, item_name='title', bs=64, seed=42, dl_type=dl_type)
        res[name] = summary([run_fastai(dls, s) for s in range(seeds)])
    for k, v in res.items(): print(f"  {k}: {v['seconds_median']:.2f} s a fit, {v['s_per_epoch_median']:.3f} s/epoch, "
                                   f"MSE {v['mse_mean']:.4f} +- {v['mse_sd']:.4f}", flush=True)
    fast, sur = res['fit_fast (lazy Adam, numba)'], res.get('Surprise SVD (default, 20 epochs)')
    fa = res['fastai CollabDataLoaders + Learner (TabDataLoader fix)']
    ratios = dict(fastai_s_per_epoch_over_fit_fast=fa['s_per_epoch_median'] / fast['s_per_epoch_median'],
                  lazy_minus_dense_mse=fast['mse_mean'] - res['fit_fast (dense: fastai Adam)']['mse_mean'])
    if sur: ratios |= dict(surprise_fit_over_fit_fast_fit=sur['seconds_median'] / fast['seconds_median'],
                           surprise_fit_over_fit_fast_first_fit=sur['seconds_median'] / fast['first_fit_seconds'])
    print('\n' + json.dumps(ratios, indent=1), flush=True)
    return dict(data=str(Path(path).name), ratings=len(ratings), machine=machine(), paths=res, ratios=ratios)

# Part 2: one path at one size, in a process of its own (its peak memory is its own).
def cached_ratings(size:str) -> pd.DataFrame:
    CACHE.mkdir(parents=True, exist_ok=True)
    fn = CACHE/f'movielens_like-{size}.npz'
    if not fn.exists():
        d = movielens_like(size)
        np.savez(fn, user=d.user.to_numpy(), movie=d.movie.to_numpy(), rating=d.rating.to_numpy())
    z = np.load(fn)
    return pd.DataFrame({k: z[k] for k in ('user', 'movie', 'rating')})

def one(path_name:str, size:str) -> dict:
    ratings = cached_ratings(size)
    t = time.perf_counter()
    if path_name == 'surprise':
        trn, val = _split(len(ratings), 0.2, 42)
        r = run_surprise(ratings.iloc[trn.numpy()], ratings.iloc[val.numpy()], 0, item='movie')
    else:
        dls = tensor_dls(ratings, item_name='movie', seed=42)
        data_s = time.perf_counter() - t
        if path_name == 'fastai': r = run_fastai(dls, 0, epochs=1, item='movie')
        else:   # fit_fast_wd: the lesson's weight decay per epoch on ml-100k (wd=0.1 over 1,250 steps), spread over
                # this set's steps: fastai's wd is per step, so at 25M ratings wd=0.1 shrinks a row by e^-78 an epoch
            wd = WD * 1250 / len(dls.train) if path_name == 'fit_fast_wd' else WD
            r = run_fast(dls, 0, engine='dense' if path_name == 'dense' else 'numba',
                         epochs=1 if path_name == 'dense' else EPOCHS if path_name == 'fit_fast_wd' else 2,
                         item='movie', wd=wd)
            r['s_per_epoch'] = r['epoch_times'][-1]   # the first epoch also loads the compiled kernel
        r['data_seconds'] = data_s
    return r | dict(path=path_name, size=size, ratings=len(ratings), peak_rss_gib=peak_rss_gib())

def in_process(path_name, size, limit, mem_gib) -> dict:
    def cap():
        if path_name == 'surprise': resource.setrlimit(resource.RLIMIT_AS, (mem_gib * 2**30, mem_gib * 2**30))
    try:
        r = subprocess.run([sys.executable, __file__, '--one', path_name, size], capture_output=True, text=True,
                           timeout=limit, preexec_fn=cap)
    except subprocess.TimeoutExpired: return dict(path=path_name, size=size, error=f'not finished in {limit} s')
    if r.returncode: return dict(path=path_name, size=size, error=(r.stderr.strip().splitlines() or ['?'])[-1][:300])
    return json.loads(r.stdout.strip().splitlines()[-1])

PATHS = {'fit_fast': 'fit_fast, lazy Adam (numba)', 'fit_fast_wd': "fit_fast, 5 epochs, ml-100k's wd per epoch",
         'dense': 'fit_fast, dense Adam', 'fastai': 'fastai Learner on tensor_dls', 'surprise': 'Surprise SVD'}

def part2(sizes:list, limit:int, mem_gib:int, paths:list) -> dict:
    rows = []
    for p in paths:
        prev = None
        for size in sizes:
            if prev is not None and 'error' not in prev:   # project from the size below: linear in ratings
                grow = MOVIELENS_SHAPES[size][2] / prev['ratings']
                proj = prev['seconds'] * grow * (grow if p == 'dense' else 1)   # dense: the tables grow too
                if proj > limit:
                    rows.append(dict(path=p, size=size, error=f'projected {proj:.0f} s > {limit} s: not run'))
                    print(f'{p} {size}: {rows[-1]["error"]}', flush=True); prev = rows[-1]; continue
            elif prev is not None:
                rows.append(dict(path=p, size=size, error='not run: the size below failed')); continue
            t = time.perf_counter()
            r = in_process(p, size, limit, mem_gib)
            r['wall_seconds'] = time.perf_counter() - t
            rows.append(r); prev = r
            print(f"{p} {size}: " + (r['error'] if 'error' in r else
                  f"{r['s_per_epoch']:.3f} s/epoch, peak RSS {r['peak_rss_gib']:.2f} GiB, MSE {r['mse']:.4f}"),
                  flush=True)
    return dict(machine=machine(), limit_s=limit, surprise_mem_gib=mem_gib, labels=PATHS, rows=rows,
                shapes={s: MOVIELENS_SHAPES[s] for s in sizes})

def table(res:dict) -> pd.DataFrame:
    df = pd.DataFrame(res['rows'])
    df['path'] = df.path.map(PATHS)
    return df.pivot_table(index='size', columns='path', values='s_per_epoch', sort=False)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--path', default=os.environ.get('MOVIELENS_PATH'), help='ml-100k folder (default: MOVIELENS_PATH)')
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--scale', action='store_true', help='part 2 only: synthetic MovieLens-shaped sets')
    ap.add_argument('--sizes', nargs='*', default=list(MOVIELENS_SHAPES), choices=list(MOVIELENS_SHAPES))
    ap.add_argument('--paths', nargs='*', default=list(PATHS), choices=list(PATHS),
                    help='the paths to run (default: all; the others keep their rows in collab_scale.json)')
    ap.add_argument('--limit', type=int, default=600, help='seconds a path may take at one size')
    ap.add_argument('--mem-gib', type=int, default=20, help="Surprise's address-space limit, GiB")
    ap.add_argument('--one', nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: print('\n' + json.dumps(one(*a.one))); sys.exit()
    if not numba_available(): print('numba is not available: fit_fast falls back to dense Adam', flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    if a.scale:
        res, fn = part2(a.sizes, a.limit, a.mem_gib, a.paths), OUT/'collab_scale.json'
        if fn.exists() and set(a.paths) != set(PATHS):   # some paths again: the others' rows are kept
            old = json.loads(fn.read_text())
            res['rows'] = [r for r in old['rows'] if r['path'] not in a.paths] + res['rows']
            res['rows'].sort(key=lambda r: (list(PATHS).index(r['path']), list(MOVIELENS_SHAPES).index(r['size'])))
            res['shapes'] = old['shapes'] | res['shapes']
            res['labels'] = PATHS
        fn.write_text(json.dumps(res, indent=1) + '\n')
        print('\nseconds per epoch\n' + table(res).round(3).to_string())
    else:
        if not a.path: ap.error('no MovieLens data: set MOVIELENS_PATH or pass --path (or run --scale)')
        (OUT/'collab_ml100k.json').write_text(json.dumps(part1(a.path, a.seeds), indent=1) + '\n')
