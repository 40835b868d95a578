"""The figures the library takes from a GPU check: its overhead fit (memtrace's MEASURED_OVERHEAD) and its training and
inference rates (plan's MEASURED_RATES), from a bench/gpu_check.py JSON, written beside it as <name>-figures.json.

Run: python bench/gpu_figures.py bench/results/gpu_check-NVIDIA_H200-2026-12-04.json
"""
import argparse, json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_check import compare, overhead_fit   # noqa: E402

def figures(res:dict) -> dict:
    "The overhead fit on clean probes, and per arch its rates (contiguous format, as fastai trains) and their source."
    rows = res.get('probes_raw') or res['probes']
    fit = overhead_fit(compare(rows), res['stack'])
    st = res['stack']
    src = f"measured on a {st['card']}, torch {st['torch']}, CUDA {st['cuda']} (bench/gpu_check.py)"
    rates = {r['arch'].split('.')[0]: dict(train_ips=r['train_img_s'], infer_ips=r['infer_img_s'], size=r['size'])
             for r in res['throughput'] if not r['channels_last']}
    base = rates.get('convnext_large', {}).get('train_ips')
    for r in rates.values(): r['train_vs_convnext_large'] = round(r['train_ips'] / base, 3) if base else None
    return dict(card=st['card'], overhead=fit, rates=rates, rates_source=src)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('check', help="a bench/gpu_check.py JSON")
    a = ap.parse_args()
    fn = Path(a.check)
    if not fn.is_file(): sys.exit(f'gpu_figures: error: {fn} is not a file; give a bench/gpu_check.py JSON')
    res = figures(json.loads(fn.read_text()))
    out = fn.with_name(fn.stem + '-figures.json')
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res, indent=1)); print(f'wrote {out}')

if __name__ == '__main__': main()
