#!/usr/bin/env python
"""Bagged ensemble vs its best single member on the synthetic Paddy set, and the cost of test-time augmentation.

For each of `--repeats` runs (different random splits), bags three small resnet10t members (random init,
`--epochs` epochs, different item transforms), then compares on the synthetic set's held-out test images
(it ships an answer key, which the real competition does not):
  - the member with the best TTA validation error (what you would pick without an ensemble),
  - the average test error of the three members (what a member drawn at random gives),
  - the weighted ensemble of all three,
and prints the out-of-bag error too. Then times plain inference vs TTA (4 augmented passes + 1 plain) on the
test images for one trained member, median of 3.

Usage: python bench/ensemble.py [--repeats 3] [--epochs 6]
"""
import argparse, statistics, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from fastai.vision.all import Resize
from paddy_road.synth import synth_paddy
from paddy_road.data import tst_files
from paddy_road.train import train_learner, fit_recipe
from paddy_road.ensemble import Member
from paddy_road.store import average_members, load_member, oob_error
from paddy_road.bag import bag

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--epochs', type=int, default=6)
args = ap.parse_args()
tmp = Path(tempfile.mkdtemp())
path = synth_paddy(tmp/'paddy')
truth = pd.read_csv(path/'synthetic_test_truth.csv').set_index('image_id').label
def test_err(probs, vocab, ids): return float((np.asarray(vocab)[probs.argmax(1).numpy()] != truth[ids].values).mean())

members = [Member('resnet10t', 64, Resize(96, method='squish')), Member('resnet10t', 64, Resize((128, 96))),
           Member('resnet10t', 64, Resize(128, method='squish'))]
rows = []
for r in range(args.repeats):
    out = tmp/f'run{r}'
    man = bag(members, path, out, epochs=args.epochs, accum=1, pretrained=False, bs=32).set_index('key')
    best = man.tta_val_error.astype(float).idxmin()
    d, ep = load_member(out, best), average_members(out)
    saved = [m for m in (load_member(out, k) for k in man.index) if m is not None]
    each = [test_err(m.test_probs, m.vocab, m.test_ids) for m in saved]
    rows.append(dict(run=r, best_member=best, best_tta_val=man.loc[best, 'tta_val_error'],
                     best_member_test=test_err(d.test_probs, d.vocab, d.test_ids),
                     mean_member_test=float(np.mean(each)), ensemble_test=test_err(ep.probs, ep.vocab, ep.ids),
                     ensemble_oob=oob_error(out)['error']))
df = pd.DataFrame(rows)
pd.set_option('display.width', 200)
print(df.round(4).to_string(index=False))
for c in ('best_member_test', 'mean_member_test', 'ensemble_test', 'ensemble_oob'):
    print(f'{c:17s}: mean {df[c].mean():.4f} +- {df[c].std():.4f}')

learn = train_learner('resnet10t', 64, item=Resize(96, method='squish'), path=path, pretrained=False, seed=0, bs=32)
with learn.no_bar(), learn.no_logging(): fit_recipe(learn, 2, 0.01, False)
dl = learn.dls.test_dl(tst_files(path))
def timed(f):
    ts = []
    for _ in range(3):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
with learn.no_bar():
    plain, tta = timed(lambda: learn.get_preds(dl=dl)), timed(lambda: learn.tta(dl=dl))
print(f'inference on {len(dl.dataset)} test images: plain {plain:.2f} s, TTA {tta:.2f} s ({tta / plain:.1f}x)')
