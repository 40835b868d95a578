#!/usr/bin/env python
"""The bag's fresh workers after this process has used the GPU: what Kaggle's "Save & Run All" on two T4s does.

This process first trains a small model on the GPU (as the lesson's memory cells do in the notebook's kernel), then
runs `bag(procs=2)`: two spawned workers, each pinned to a GPU (both to the one GPU on a one-GPU machine), timing the
members first (`minutes='auto'` on a GPU), then training them. Prints what the bag says and its table, and writes
bench/results/two_workers-<device>.json. On a CPU it takes the same path with CPU workers.

Usage: python bench/two_workers.py [--out bench/results]
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from paddy_road.bag import bag                  # noqa: E402
from paddy_road.data import paddy_path          # noqa: E402
from paddy_road.ensemble import Member          # noqa: E402
from paddy_road.train import train              # noqa: E402

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(ROOT/'bench/results'))
    a = ap.parse_args()
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'
    path, t0 = paddy_path(quiet=True), time.time()
    train('resnet10t', 64, path=path, pretrained=False, epochs=1, finetune=False, num_workers=0)   # the kernel's CUDA
    used = torch.cuda.is_available() and torch.cuda.is_initialized()
    print(f'two_workers: this process trained on {dev}; CUDA initialised here: {used}', flush=True)
    members = [Member('resnet10t', 64, 48), Member('resnet18', 64, 48)]
    man = bag(members, path, Path(tempfile.mkdtemp())/'ensemble', epochs=1, pretrained=False, procs=2, num_workers=0)
    cols = ['key', 'status', 'accum', 'tries', 'val_error', 'seconds', 'error']
    print(man[cols].to_string(index=False))
    res = dict(device=dev, cuda_initialised_before=used, seconds=time.time() - t0,
               members=man[cols].astype(object).where(man[cols].notna(), None).to_dict('records'))
    out = Path(a.out)/f"two_workers-{dev.replace(' ', '_')}.json"
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1, default=str))
    print(f'wrote {out} in {res["seconds"]:.0f} s')
    sys.exit(0 if set(man.status) == {'ok'} else 1)

if __name__ == '__main__': main()
