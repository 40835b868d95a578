#!/usr/bin/env python
"""First run on a real GPU: measure what paddy_road predicts (memory, out-of-memory verdicts, recovery, throughput)
and run the notebooks' CUDA cells. Writes bench/results/gpu_check-<card>.json and prints a table.

1. The stack: torch, timm, fastai; the card, its capability, its total memory as NVML and as torch see it, and the
   CUDA context (this process's NVML figure after CUDA starts, before any tensor).
2. Emulated cards: `torch.cuda.set_per_process_memory_fraction` makes the card behave like a T4 (15102 MiB as torch
   sees it) and the lesson's P100 (16280), less the context measured in 1. On each, the lesson's configs are probed
   (fp16, two batches, synthetic Paddy images at the real 480x640): peak allocated, peak reserved, NVML, or the OOM.
3. Prediction against measurement: the measured tensor peak (peak allocated during the probe less what was allocated
   before it, over at least accum + 1 micro-batches: the first after an optimizer step is the steady state) vs the
   traced one (same attention as the run),
   measured reserved and NVML vs `predict_gpu_mib`, and out-of-memory vs `pick_accum`'s verdict (5% margin).
4. Recovery: after every probe (an out-of-memory above all) allocated memory is back within 50 MiB of what it was
   before it, and the probe after an out-of-memory runs. With --order, the T4 sweep again in the same process, last
   config first: the same verdicts and tensor peaks within 2% say that what ran before doesn't change a probe (on an
   H200 at c098481 they were identical but for the process's first probe, which had cuBLAS's 65 MiB workspace in its
   peak: `warm_cuda` now makes it before any probe measures).
5. The overhead on this stack, for memtrace's MEASURED_OVERHEAD: NVML's figure against the measured tensor peak,
   c0 + c1 * peak, fitted on clean probes only (those that ran in a process nothing had leaked into).
6. The notebooks' `#| cuda` cells, through .ci/nbrun.py (no nbdev needed on the GPU machine).
7. Throughput, alone on the card after everything else: images/s training (fp16, micro-batch 32) and inference (bs
   64; TTA runs 5 passes, so TTA images/s is a fifth of it) for the lesson's four architectures at their lesson
   sizes, with and without channels_last.

A lent GPU's session is 15 minutes with its start, so the run must take under 6 on an H200: the predictor's traces
(~5 s each, cold, on a CPU) are made in spawned processes on the spare CPU cores while the GPU probes run, and the JSON
is written after every stage, so that a run cut short keeps what it measured ('stages' lists the stages done).

--dry-run takes the same path on a CPU with tiny models and no CUDA: probes answer 'no CUDA GPU', throughput is the
CPU's, the CUDA cells are listed but not run. Everything uses pretrained=False: no downloads.

Usage: python bench/gpu_check.py [--dry-run] [--out bench/results] [--no-notebooks] [--order]

On an H200 at c098481 it took 470 s with --order (stack 9, probes 214, CUDA cells 137 in series, order 91,
throughput 19); without --order and with the cells two at a time, about 325 s.
"""
import argparse, json, multiprocessing, os, platform, re, subprocess, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import numpy as np, pandas as pd, torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from paddy_road.core import SMALLEST                                                # noqa: E402
from paddy_road.synth import synth_image                                            # noqa: E402
from paddy_road.gpu import probe, process_mib, gpu_budget, find_card, free_gpu, warm_cuda  # noqa: E402
from paddy_road.train import timm_model                                             # noqa: E402
from paddy_road.memtrace import predict_gpu_mib                                    # noqa: E402
from paddy_road.faketrace import _fused                                            # noqa: E402

LESSON = [('convnext_small.fb_in22k', 128, (1, 2, 4)), ('convnext_large.fb_in22k', 224, (1, 2)),
          ('convnext_large.fb_in22k', (320, 240), (1, 2)), ('vit_large_patch16_224', 224, (1, 2)),
          ('swinv2_large_window12_192.ms_in22k', 192, (1, 2)), ('swin_large_patch4_window7_224', 224, (1, 2))]
TINY = [('resnet10t', 64, (1, 2)), ('test_vit', 160, (1, 2))]
SPEED = [('convnext_large.fb_in22k', 224), ('vit_large_patch16_224', 224),
         ('swinv2_large_window12_192.ms_in22k', 192), ('swin_large_patch4_window7_224', 224)]
EMULATED = ('T4', 'P100')
MARGIN = 0.05

def stack() -> dict:
    "Versions, the card, its memory as NVML and torch see it, and the CUDA context."
    import timm, fastai, fastcore
    res = dict(python=platform.python_version(), torch=torch.__version__, timm=timm.__version__,
               fastai=fastai.__version__, fastcore=fastcore.__version__, cuda=torch.version.cuda, card=None)
    if not torch.cuda.is_available(): return res
    torch.cuda.init()
    res.update(card=torch.cuda.get_device_name(), capability='.'.join(map(str, torch.cuda.get_device_capability())),
               torch_total_mib=torch.cuda.mem_get_info()[1] / 2**20, context_mib=process_mib())
    warm_cuda()   # cuBLAS's workspaces: kept by the process, not by a probe (each probe also warms up first)
    res['workspaces_mib'] = torch.cuda.memory_allocated() / 2**20
    try:
        import pynvml
        pynvml.nvmlInit()
        res['nvml_total_mib'] = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0)).total / 2**20
    except Exception as e: res['nvml_total_mib'] = f'NVML: {e}'
    return res

def _one_image(args):
    fn, seed = args
    synth_image(SMALLEST, 'ADT45', 70, size=(480, 640), seed=seed).save(fn, quality=90)

def one_label_set(dest:Path, n:int) -> Path:
    "A Paddy folder with `n` synthetic images of the probe's label at the real 480x640 (all a probe reads)."
    d = dest/'train_images'/SMALLEST
    d.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as ex: list(ex.map(_one_image, [(d/f'{100001 + i}.jpg', i) for i in range(n)]))
    return dest

def emulate(card:str, info:dict):
    "Cap this process's allocator so that the card behaves like `card`: its torch total less the context."
    if not torch.cuda.is_available(): return
    usable = gpu_budget(card)['mib'] - (info.get('context_mib') or 0)
    torch.cuda.set_per_process_memory_fraction(min(1., usable / info['torch_total_mib']))

def predicted(arch, size, accum, card) -> dict:
    "The predictions for a config on `card`, with the attention the run itself uses (timm's default here)."
    fa = _fused(None)
    p = predict_gpu_mib(arch, size, accum=accum, gpu=card, fused_attn=fa)
    budget = gpu_budget(card)['mib']
    return dict(tensor_peak_pred=p['tensor_peak'], mib_pred=p['predicted_mib'], overhead_source=p['overhead_source'],
                verdict_pred='fits' if p['predicted_mib'] <= budget * (1 - MARGIN) else 'OOM')

def predict_all(configs, ex) -> dict:
    "Every config's predictions on every emulated card, started in the pool `ex` (CPU): (card, arch, size, accum) ->."
    return {(c, arch, str(size), a): ex.submit(predicted, arch, size, a, c)
            for c in EMULATED for arch, size, accums in configs for a in accums}

KEEP = ('arch', 'size', 'accum', 'tensor_peak', 'peak_allocated', 'allocated_before', 'peak_reserved', 'process_mib',
        'batches', 'cudnn_benchmark', 'seconds', 'error')

def probe_all(configs, path:Path, info:dict, preds:dict, cards=EMULATED, reverse:bool=False) -> list:
    "Each config on each emulated card (in reverse order with `reverse`), measured; `preds` (futures) joined in after."
    rows, runs = [], [(arch, size, a) for arch, size, accums in configs for a in accums]
    for card in cards:
        emulate(card, info)
        for arch, size, a in (runs[::-1] if reverse else runs):
            before = torch.cuda.memory_allocated() / 2**20 if torch.cuda.is_available() else 0.
            r = probe(arch, size, accum=a, path=path, gpu=card, n_batches=2, pretrained=False)  # runs >= accum + 1
            after = torch.cuda.memory_allocated() / 2**20 if torch.cuda.is_available() else 0.
            rows.append(dict(card=card, **{k: r.get(k) for k in KEEP}, allocated_back=after - before))
            print(f"{card} {arch} {size} accum {a}: {r['error'] or 'ran'}, tensor peak {r['tensor_peak'] or 0:.0f} "
                  f"MiB, {r['batches']} batches ({r['seconds'] or 0:.1f} s)", flush=True)
    if torch.cuda.is_available(): torch.cuda.set_per_process_memory_fraction(1.)
    return [r | preds[(r['card'], r['arch'], str(r['size']), r['accum'])].result() for r in rows]

def order_check(first:pd.DataFrame, again:pd.DataFrame, tol:float=0.02) -> dict:
    "The same configs probed in reverse order in the same process: same verdicts, tensor peaks within `tol`."
    key = ['card', 'arch', 'size', 'accum']
    m = first[key + ['verdict', 'tensor_peak']].merge(again[key + ['verdict', 'tensor_peak']], on=key,
                                                       suffixes=('', '_reversed'))
    m['peak_diff_pct'] = 100 * (m.tensor_peak_reversed - m.tensor_peak) / m.tensor_peak
    m['same'] = (m.verdict == m.verdict_reversed) & (m.verdict.ne('fits') | m.peak_diff_pct.abs().le(100 * tol))
    return dict(ok=bool(m.same.all()) if len(m) else None, rows=m.replace({np.nan: None}).to_dict('records'))

def compare(rows:list) -> pd.DataFrame:
    "Prediction against measurement, per config and card."
    df = pd.DataFrame(rows)
    ran = df.error.isna()
    df['verdict'] = np.where(df.error.eq('CUDA out of memory'), 'OOM', np.where(ran, 'fits', 'n/a'))
    df['tensor_err_pct'] = np.where(ran, 100 * (df.tensor_peak_pred - df.tensor_peak) / df.tensor_peak, np.nan)
    df['reserved_err_pct'] = np.where(ran, 100 * (df.mib_pred - df.peak_reserved) / df.peak_reserved, np.nan)
    nvml = pd.to_numeric(df.process_mib, errors='coerce')
    df['nvml_err_pct'] = 100 * (df.mib_pred - nvml) / nvml
    df['verdict_ok'] = np.where(df.verdict == 'n/a', None, df.verdict == df.verdict_pred)
    return df

def recovery(df:pd.DataFrame) -> dict:
    "After every probe: memory back within 50 MiB; after every OOM, the next probe on the same card ran."
    checks = []
    for i in range(len(df)):
        oom, nxt = df.verdict.iloc[i] == 'OOM', df.iloc[i + 1] if i + 1 < len(df) else None
        checks.append(dict(after=f'{df.card.iloc[i]} {df.arch.iloc[i]} accum {df.accum.iloc[i]}', oom=bool(oom),
                           allocated_back_mib=float(df.allocated_back.iloc[i]),
                           next_ran=None if not oom or nxt is None or nxt.card != df.card.iloc[i]
                           else bool(pd.isna(nxt.error))))
    ok = all(abs(c['allocated_back_mib']) <= 50 and c['next_ran'] is not False for c in checks)
    return dict(ok=ok if checks else None, checks=checks)

def _time(f, n:int) -> float:
    "Seconds per call of `f`, after two warm-up calls."
    for _ in range(2): f()
    if torch.cuda.is_available(): torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n): f()
    if torch.cuda.is_available(): torch.cuda.synchronize()
    return (time.perf_counter() - t) / n

def _rates(model, size:int, dev:str, steps:int, fmt) -> tuple:
    "(training, inference) images/s of `model`, its inputs in memory format `fmt`."
    opt, dtype = torch.optim.AdamW(model.parameters(), lr=1e-4), torch.float16 if dev == 'cuda' else torch.bfloat16
    scaler = torch.amp.GradScaler(dev, enabled=dev == 'cuda')
    xt, xi = [torch.randn(n, 3, size, size, device=dev).to(memory_format=fmt) for n in (32, 64)]
    y = torch.zeros(32, dtype=torch.long, device=dev)
    def train_step():
        with torch.autocast(dev, dtype=dtype): loss = torch.nn.functional.cross_entropy(model(xt).float(), y)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
    def infer_step():
        with torch.no_grad(), torch.autocast(dev, dtype=dtype): model(xi)
    model.train(); tr = 32 / _time(train_step, steps)
    model.eval(); inf = 64 / _time(infer_step, steps)
    return tr, inf

def throughput(archs, steps:int) -> list:
    "Training (fp16, bs 32) and inference (bs 64) images/s per arch, with and without channels_last."
    dev, rows = 'cuda' if torch.cuda.is_available() else 'cpu', []
    for arch, size in archs:
        model = timm_model(arch, 10, device=dev)
        for cl in (False, True):
            fmt = torch.channels_last if cl else torch.contiguous_format
            tr, inf = _rates(model.to(memory_format=fmt), size, dev, steps, fmt)
            rows.append(dict(arch=arch, size=size, channels_last=cl, train_img_s=round(tr, 1),
                             infer_img_s=round(inf, 1), tta_img_s=round(inf / 5, 1)))
            print(f'{arch} channels_last={cl}: train {tr:.0f} img/s, inference {inf:.0f} img/s', flush=True)
        model = None; free_gpu()
    return rows

def cuda_cells(dry:bool) -> list:
    "The notebooks' `#| cuda` cells: run with .ci/nbrun.py --flags cuda (nbdev isn't needed), or listed in a dry run."
    nbs = [p for p in sorted((ROOT/'nbs').glob('[!_]*.ipynb')) if '"#| cuda' in p.read_text()]
    cells = [(p.name, i) for p in nbs for i, c in enumerate(json.loads(p.read_text())['cells'])
             if ''.join(c['source']).startswith('#| cuda')]
    if dry or not torch.cuda.is_available():
        return [dict(notebook=n, cell=i, result='not run (no CUDA)') for n, i in cells]
    cmd = [sys.executable, str(ROOT/'.ci/nbrun.py'), '--flags', 'cuda', '--n_workers', '2', *map(str, nbs)]   # 81 s
    r = subprocess.run(cmd, capture_output=True, text=True)
    stopped = {m[1]: int(m[2]) for m in re.finditer(r'(\S+\.ipynb) failed at cell (\d+)', r.stdout + r.stderr)}
    def result(n, i):   # cells before the one that failed passed; those after it never ran
        return 'passed' if i < stopped.get(n, 1e9) else 'failed' if i == stopped[n] else 'not run (an earlier failed)'
    return [dict(notebook=n, cell=i, result=result(n, i), log=(r.stdout + r.stderr)[-2000:] if result(n, i) == 'failed'
                 else '') for n, i in cells]

def clean(df:pd.DataFrame, slack:float=100.) -> pd.Series:
    """The probes that ran in a process as found: what the probes before them left allocated adds up to at most `slack`
    MiB (the first probe of a process keeps ~65 MiB of cuBLAS/cuDNN workspaces for good; a leaked model is 1,100+)."""
    return df.allocated_back.abs().cumsum().shift(fill_value=0).le(slack)

def overhead_fit(df:pd.DataFrame, info:dict) -> dict|None:
    "NVML's MiB against the measured tensor peak, c0 + c1 * peak, on clean probes: memtrace's MEASURED_OVERHEAD entry."
    ran = df[clean(df) & df.error.isna() & pd.to_numeric(df.process_mib, errors='coerce').notna()]
    if len(ran) < 2: return None
    c1, c0 = np.polyfit(ran.tensor_peak.astype(float), ran.process_mib.astype(float), 1)
    card = find_card(info['card']) or info['card']
    src = (f"measured on a {info['card']}, torch {info['torch']}, CUDA {info['cuda']}, {len(ran)} clean probes "
           "(bench/gpu_check.py)")
    return dict(card=card, c0=float(c0), c1=float(c1), source=src,
                entry=f"MEASURED_OVERHEAD[{card!r}] = ({c0:.0f}, {c1:.4f}, {src!r})")

def report(res:dict):
    "Print the tables: stack, probes against predictions, recovery, overhead, throughput, CUDA cells."
    pd.set_option('display.width', 250); pd.set_option('display.max_columns', 30)
    print('\n== stack:', json.dumps(res['stack']))
    df = pd.DataFrame(res['probes'])
    cols = ['card', 'arch', 'size', 'accum', 'batches', 'verdict', 'verdict_pred', 'tensor_peak', 'tensor_peak_pred',
            'tensor_err_pct', 'peak_reserved', 'process_mib', 'mib_pred', 'reserved_err_pct', 'nvml_err_pct']
    print('\n== probes (MiB; errors in % of the measured figure)\n' + df[cols].round(1).to_string(index=False))
    print('\n== out-of-memory recovery:', json.dumps(res['recovery']))
    if res.get('order'):
        o = pd.DataFrame(res['order']['rows'])
        print(f"\n== the T4 sweep again in reverse order, same process: same verdicts and peaks within 2%: "
              f"{res['order']['ok']}\n" + o.round(1).to_string(index=False))
    if res.get('overhead_fit'): print(f"\n== overhead on this stack, for memtrace: {res['overhead_fit']['entry']}")
    print('\n== throughput (images/s)\n' + pd.DataFrame(res['throughput']).to_string(index=False))
    cells = pd.DataFrame(res['cuda_cells']).drop(columns='log', errors='ignore')
    print('\n== CUDA cells\n' + cells.to_string(index=False))
    ran = df[df.verdict != 'n/a']
    if len(ran):
        print(f"\nverdicts right: {int(ran.verdict_ok.sum())}/{len(ran)}; tensor peak within 10%: "
              f"{int((ran.tensor_err_pct.abs() <= 10).sum())}/{int(ran.tensor_err_pct.notna().sum())}")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dry-run', action='store_true', help='CPU, tiny models, no CUDA: the same path')
    ap.add_argument('--out', default=str(ROOT/'bench/results')); ap.add_argument('--no-notebooks', action='store_true')
    ap.add_argument('--order', action='store_true', help="the T4 sweep again, in reverse order (+90 s on an H200)")
    a = ap.parse_args()
    if not a.dry_run and not torch.cuda.is_available(): sys.exit('gpu_check: no CUDA GPU here; use --dry-run on a CPU.')
    t0, info = time.time(), stack()
    os.environ.setdefault('PADDY_ROAD_CACHE', tempfile.mkdtemp())   # this run's traces stay with it (and the pool's)
    name = 'dry-run-cpu' if a.dry_run else (find_card(info['card']) or info['card']).replace(' ', '_')
    out, res = Path(a.out)/f'gpu_check-{name}.json', dict(stack=info, dry_run=a.dry_run, stages=[])
    def done(stage:str, **figures):   # each stage on disk as it ends: a run cut short keeps what it measured
        res.update(figures, seconds=time.time() - t0); res['stages'].append(stage)
        out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1, default=str))
        print(f'gpu_check: {stage} done at {res["seconds"]:.0f} s', flush=True)
    done('stack')
    configs = TINY if a.dry_run else LESSON
    path = one_label_set(Path(tempfile.mkdtemp())/'paddy', 24 if a.dry_run else 192)
    spare = max(1, (os.cpu_count() or 2) - 2)   # the probes' data loading keeps two
    with ProcessPoolExecutor(spare, mp_context=multiprocessing.get_context('spawn')) as ex:   # spawn: CUDA is up here
        preds = predict_all(configs, ex)   # futures: still answered once the pool is shut down
        rows = compare(probe_all(configs, path, info, preds))
    done('probes', probes=rows.replace({np.nan: None}).to_dict('records'), recovery=recovery(rows),
         overhead_fit=overhead_fit(rows, info))
    done('cuda_cells', cuda_cells=[] if a.no_notebooks else cuda_cells(a.dry_run))
    if a.order:   # does what ran before change a probe? the T4 sweep again, last config first
        again = compare(probe_all(configs, path, info, preds, EMULATED[:1], reverse=True))
        done('order', order=order_check(rows, again), probes_reversed=again.replace({np.nan: None}).to_dict('records'))
    done('throughput', throughput=throughput([('resnet10t', 64)] if a.dry_run else SPEED, 2 if a.dry_run else 10))
    report(res)
    print(f'\nwrote {out} in {res["seconds"]:.0f} s')

if __name__ == '__main__': main()
