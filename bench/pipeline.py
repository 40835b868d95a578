"""Feeding the GPUs: images per second from fastai's item pipeline at the lesson's image size, per core.

The real images are 480x640 JPEGs, squish-resized to 480 by the item transform (`Resize(480, method='squish')`);
`resize_cache` writes a 480x480 copy once. Both are read, decoded, resized and collated by the training DataLoader
without a model (batch transforms run on the GPU and are left out), with 0 workers (this process: one core) and with
as many worker processes as there are cores. Synthetic images at the real size stand in for the competition's.
Prints a table; medians of repeats. Run: python bench/pipeline.py [--scale 0.05] [--repeats 3]
"""
import argparse, os, statistics, tempfile
from pathlib import Path
import pandas as pd
from paddy_road.synth import synth_paddy
from paddy_road.feed import feed_rate, resize_cache

def measure(path:Path, workers:int, batches:int, repeats:int) -> float:
    return statistics.median(feed_rate(path, num_workers=workers, n_batches=batches) for _ in range(repeats))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--scale', type=float, default=0.05, help='synthetic set size, as a fraction of the real one')
    ap.add_argument('--batches', type=int, default=8, help='timed batches of 32 per measurement')
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args()
    tmp, cores = Path(tempfile.mkdtemp()), os.cpu_count()
    src = synth_paddy(tmp/'paddy', scale=a.scale, size=(480, 640))
    sets = {'480x640 JPEG, squish to 480': src,
            'pre-resized 480x480 (resize_cache)': resize_cache(src, 480, tmp/'p480')}
    rows = []
    for name, path in sets.items():
        for workers in sorted({0, cores}):
            ips = measure(path, workers, a.batches, a.repeats)
            rows.append(dict(images=name, workers=workers, cores=max(1, workers), images_per_s=round(ips),
                             per_core=round(ips / max(1, workers))))
    df = pd.DataFrame(rows)
    base = df[df.images == next(iter(sets))].set_index('workers').images_per_s
    df['vs_original'] = [round(r.images_per_s / base[r.workers], 2) for r in df.itertuples()]
    print(f'{cores} cores; {a.repeats} repeats of {a.batches} batches of 32; medians')
    print(df.to_string(index=False))

if __name__ == '__main__': main()
