#!/usr/bin/env python3
"""The data's check before training, on a layout of the real set's size: 10,407 train and 3,469 test images.

Each image is a 640x480 JPEG (the real set's size and format), all with the same bytes, written once into a temporary
folder with the competition's train.csv and sample_submission.csv. Timed on that folder, each side by side in one run:
- `check_paddy(path)`: what the first `train`, `bag` or `paddy_demo` on a folder pays (every image's header and end);
- `checked_paddy(path)` on a folder already checked, as a fresh process finds it (this process's own record dropped,
  so it lists the folder, digests the listing and reads the record on disk): what every later run pays;
- `listing_digest(path)` alone, and a bare `os.walk` of the folder, the least any look at the folder costs.
Prints the figures and saves them to bench/results/datacheck.json.

Usage: python bench/datacheck.py [--repeat 5] [--keep DIR]
"""
import argparse, io, json, os, statistics, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
N_TRAIN, N_TEST = 10_407, 3_469

def layout(dest:Path):
    "The competition's layout, real counts, the real labels' proportions (roughly), one real-sized JPEG's bytes."
    import numpy as np, pandas as pd
    from PIL import Image
    from paddy_road.core import DISEASES
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (640, 480, 3), dtype=np.uint8)).resize((480, 640))
    buf = io.BytesIO(); im.save(buf, 'JPEG', quality=85); jpg = buf.getvalue()
    labels = rng.choice(DISEASES, N_TRAIN)
    rows = []
    for i, lab in enumerate(labels):
        d = dest/'train_images'/lab; d.mkdir(parents=True, exist_ok=True)
        name = f'{100001 + i}.jpg'; (d/name).write_bytes(jpg)
        rows.append((name, lab, 'ADT45', 50))
    pd.DataFrame(rows, columns=['image_id', 'label', 'variety', 'age']).to_csv(dest/'train.csv', index=False)
    (dest/'test_images').mkdir()
    ids = [f'{200001 + i}.jpg' for i in range(N_TEST)]
    for name in ids: (dest/'test_images'/name).write_bytes(jpg)
    pd.DataFrame(dict(image_id=ids, label='')).to_csv(dest/'sample_submission.csv', index=False)
    return len(jpg)

def timed(f, repeat:int) -> list:
    out = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); out.append(time.perf_counter() - t)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repeat', type=int, default=5, help='times each is run (the median is reported)')
    ap.add_argument('--keep', help='build the layout here and keep it (default: a temporary folder, removed)')
    a = ap.parse_args()
    os.environ['PADDY_ROAD_CACHE'] = tempfile.mkdtemp()
    import paddy_road.datacheck as dc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(a.keep or tmp)/'paddy-disease-classification'
        t = time.perf_counter(); nbytes = layout(path); built = time.perf_counter() - t
        quiet = open(os.devnull, 'w')
        def check():
            old, sys.stdout = sys.stdout, quiet
            try: dc.check_paddy(path)
            finally: sys.stdout = old
        first = timed(check, a.repeat)
        dc.checked_paddy(path)   # the record, as the first run leaves it
        def rerun(): dc._CHECKED.clear(); dc.checked_paddy(path)
        again = timed(rerun, a.repeat)
        digest = timed(lambda: dc.listing_digest(path), a.repeat)
        walk = timed(lambda: sum(len(f) for _, _, f in os.walk(path)), a.repeat)
    med = {k: statistics.median(v) for k, v in dict(check_paddy=first, checked_again=again, listing_digest=digest,
                                                   os_walk=walk).items()}
    res = dict(files=dict(train=N_TRAIN, test=N_TEST, jpeg_bytes=nbytes), built_s=round(built, 1), repeat=a.repeat,
               seconds={k: round(v, 4) for k, v in med.items()},
               rerun_over_check=round(med['checked_again'] / med['check_paddy'], 4),
               rerun_over_walk=round(med['checked_again'] / med['os_walk'], 2),
               machine=f'{os.cpu_count()} cores, Python {sys.version.split()[0]}')
    print(json.dumps(res, indent=1))
    (root/'bench'/'results'/'datacheck.json').write_text(json.dumps(res, indent=1) + '\n')

if __name__ == '__main__': main()
