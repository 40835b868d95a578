#!/usr/bin/env python
"""GPU-memory prediction on a CPU, measured against the lesson's published Kaggle figures and against real CPU runs.

Prints three tables:
1. the lesson's 8 published rows: published MiB, predicted MiB (leave-one-out calibration: fitted on the other 7),
   % error, whether the fits/doesn't-fit verdict at 16280 MiB is right, seconds per prediction (uncached);
2. accum=1 for the lesson's five large configs (all ran out of memory in the lesson): predicted MiB and verdict;
3. predicted tensor peak vs a real CPU training step measured by PyTorch's MemTracker (float32), with both timings.
Targets: every row within +-15%, every verdict right, CPU peaks within 2%, vit_large at bs 32 in under 90 s.

Usage: python bench/gpu_predict.py
"""
import os, tempfile, time
os.environ['PADDY_ROAD_CACHE'] = tempfile.mkdtemp()  # uncached: the timings are real
import numpy as np, pandas as pd
from paddy_road.gpu import PUBLISHED, LESSON_LARGE, KAGGLE_MIB
from paddy_road.memtrace import (predict_mem, leave_one_out, calibrate, predict_gpu_mib, measure_cpu_mem,
                                 predict_unrounded)

def timed(f, *a, **k):
    t = time.time(); r = f(*a, **k); return r, time.time() - t

pd.set_option('display.width', 200); pd.set_option('display.max_columns', 20)
secs = [timed(predict_mem, r.arch, r.size, 64 // r.accum, cache=True)[1] for r in PUBLISHED.itertuples()]
loo = leave_one_out()
loo['verdict'] = np.where(loo.verdict_ok, 'right', 'WRONG')
loo['seconds'] = np.round(secs, 1)
print('1. Published rows, leave-one-out (fit on 7, predict the 8th); budget', KAGGLE_MIB, 'MiB')
cols = ['arch', 'size', 'accum', 'published', 'tensor_peak', 'predicted', 'error_pct', 'verdict', 'seconds']
print(loo[cols].to_string(index=False))
c0, c1 = calibrate()
print(f'max |error| {loo.error_pct.abs().max():.1f}% (target 15%); verdicts right: {loo.verdict_ok.sum()}/{len(loo)}; '
      f'calibration on all 8: MiB = {c0:.0f} + {c1:.3f} x tensor peak')

rows = []
for arch, size in LESSON_LARGE:
    (r, s) = timed(predict_gpu_mib, arch, size, accum=1, calib=(c0, c1))
    verdict = 'OOM (right)' if r['predicted_mib'] > KAGGLE_MIB else 'fits (WRONG: the lesson ran out)'
    rows.append(dict(arch=arch, size=str(size), accum=1, predicted=round(r['predicted_mib']), verdict=verdict,
                     seconds=round(s, 1)))
print('\n2. accum=1 for the large configs (all OOM in the lesson)')
print(pd.DataFrame(rows).to_string(index=False))

rows = []
for arch in ('resnet18', 'convnext_tiny'):
    pred, tp = timed(predict_unrounded, arch, 128, 16)
    real, tr = timed(measure_cpu_mem, arch, 128, 16)
    rows.append(dict(arch=arch, bs=16, size=128, predicted_mib=round(pred, 2), memtracker_mib=round(real, 2),
                     diff_pct=round(100 * (pred - real) / real, 3), predict_s=round(tp, 1), real_run_s=round(tr, 1)))
print('\n3. Fake-tensor prediction vs a real CPU step under MemTracker (float32, item 480, target within 2%)')
print(pd.DataFrame(rows).to_string(index=False))

(r, s) = timed(predict_mem, 'vit_large_patch16_224', 224, 32, cache=False)
print(f"\nLargest config: predict_mem('vit_large_patch16_224', 224, bs=32) took {s:.1f} s (target < 90 s); "
      f"tensor peak {r['peak']:.0f} MiB")
