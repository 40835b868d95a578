#!/usr/bin/env python
"""Wall time per epoch of gradient accumulation at the same effective batch (64) on the CPU.

Trains resnet10t (random init) on the synthetic Paddy set with accum 1, 2 and 4 (micro-batches 64, 32, 16), at
each of `--sizes` (final image size; items are squish-resized to 1.5x that first), one warm-up epoch then `--repeats`
timed epochs each, and prints the median seconds per epoch and the ratio to accum=1. The per-batch overhead (fastai's
callbacks, the data loader, smaller matrix products) is fixed, so its share falls as images get bigger.
Target: accum=4 costs under 15% more than accum=1.

Usage: python bench/accum.py [--repeats 3] [--sizes 64 128]
"""
import argparse, statistics, tempfile, time
import torch
from fastai.vision.all import Resize, Callback
from paddy_road.synth import synth_paddy
from paddy_road.train import train_learner

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0]); ap.add_argument('--repeats', type=int, default=3)
ap.add_argument('--sizes', type=int, nargs='+', default=[64, 128])
args = ap.parse_args()
path = synth_paddy(tempfile.mkdtemp() + '/paddy')

class EpochTimer(Callback):
    def before_fit(self): self.times = []
    def before_epoch(self): self.t = time.perf_counter()
    def after_train(self): self.times.append(time.perf_counter() - self.t)

print(f'torch threads: {torch.get_num_threads()}')
print('size  accum  micro-batch  s/epoch (median of %d)  vs accum=1' % args.repeats)
for size in args.sizes:
    res = {}
    for accum in (1, 2, 4):
        learn = train_learner('resnet10t', size, item=Resize(size * 3 // 2, method='squish'), accum=accum, path=path,
                              pretrained=False, seed=0, cbs=[EpochTimer()])
        with learn.no_bar(), learn.no_logging(): learn.fit(1 + args.repeats, 1e-3)
        res[accum] = statistics.median(learn.epoch_timer.times[1:])
    for a, t in res.items(): print(f'{size:4d}  {a:5d}  {64 // a:11d}  {t:22.2f}  {t / res[1]:9.2f}x')
    print(f'      accum=4 overhead at {size} px: {100 * (res[4] / res[1] - 1):+.1f}% (target < 15%); '
          f'{len(learn.dls.train_ds)} training images per epoch')
