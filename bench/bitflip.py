#!/usr/bin/env python3
"""Bit flips in a member file: each flipped file read back the way the bag reads it, now and before the store module.

Two files: a small member (3 test images, 2 validation images, every bit flipped in turn) and one of the real
competition's shape (3,469 test images, 2,081 validation images, `--sample` bits at random). Each flip is counted as
refused (by reason), read back identical, accepted with changed content, raising, or hanging (over 5 s). `--before REV`
runs the same sweep on the same members as saved by an earlier commit (5a8ab82: a checksum over the test predictions
only), in a temporary git worktree. Prints the figures and saves them to bench/results/bitflip.json.

Usage: python bench/bitflip.py [--sample 20000] [--before 5a8ab82]
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent

MEMBERS = '''
import torch
from paddy_road.core import DISEASES
def result(n_test, n_valid, seed=0):
    "A member's training result of this size: softmax probabilities, ids, targets."
    g = torch.Generator().manual_seed(seed)
    return dict(test_probs=torch.rand(n_test, 10, generator=g).softmax(1),
                test_ids=[f'{200001 + i}.jpg' for i in range(n_test)], vocab=list(DISEASES),
                valid_probs=torch.rand(n_valid, 10, generator=g).softmax(1),
                valid_ids=[f'{100001 + i}.jpg' for i in range(n_valid)],
                valid_targets=torch.randint(0, 10, (n_valid,), generator=g),
                val_error=0.5, tta_val_error=0.5, split_seed=1, seconds=2.)
'''

SWEEP = '''
import json, random, signal, sys, tempfile, time
from pathlib import Path
class Hang(Exception): pass
def _alarm(*a): raise Hang()
signal.signal(signal.SIGALRM, _alarm)
def sweep(data, read, same, bits):
    "Flip each of `bits` in `data`, read it back with `read` (-> (content, why)), compare with `same`."
    counts, reasons, t0 = dict(refused=0, identical=0, changed=0, raised=0, hung=0), {}, time.time()
    for bit in bits:
        b = bytearray(data); b[bit // 8] ^= 1 << (bit % 8)
        signal.alarm(5)
        try:
            got, why = read(bytes(b))
            if why:
                counts['refused'] += 1; k = why.split(':')[0].split(' (')[0]; reasons[k] = reasons.get(k, 0) + 1
            else: counts['identical' if same(got) else 'changed'] += 1
        except Hang: counts['hung'] += 1
        except Exception as e:
            counts['raised'] += 1; k = 'raised ' + type(e).__name__; reasons[k] = reasons.get(k, 0) + 1
        finally: signal.alarm(0)
    return dict(bytes=len(data), bits_flipped=len(bits), **counts, reasons=reasons, seconds=round(time.time() - t0, 1))
def bits_of(data, sample, seed=0):
    n = len(data) * 8
    return range(n) if sample is None or sample >= n else sorted(random.Random(seed).sample(range(n), sample))
'''

NOW = '''
from paddy_road.ensemble import Member, MemberResult, member_config
from paddy_road.store import Store, Wanted, member_bytes, read_member
m = Member('resnet10t', 32, 48); cfg = member_config(m, epochs=3, accum=1)
def run(n_test, n_valid, sample):
    res = result(n_test, n_valid)
    r = MemberResult.from_training(m.name, cfg, m.weight, res)
    want = Wanted(m.name, cfg, m.weight, res['test_ids'], res['vocab'])
    folder = Path(tempfile.mkdtemp()); fn = folder/(m.name + '.member')
    def read(b):
        fn.write_bytes(b); got, why = read_member(fn)
        return got, why or (want.refusal(got) if got is not None else None)
    data = member_bytes(r)
    return sweep(data, read, lambda got: got == r, bits_of(data, sample))
'''

BEFORE = '''
from paddy_road.ensemble import Member, member_config, save_member, read_member
from paddy_road.bag import _refusal
m = Member('resnet10t', 32, 48); cfg = member_config(m, epochs=3, accum=1)
def run(n_test, n_valid, sample):
    res = result(n_test, n_valid)
    folder = Path(tempfile.mkdtemp())
    data = save_member(folder, m.name, m, res, cfg).read_bytes()
    d0, _ = read_member(folder/(m.name + '.pt'))
    fn = folder/'flipped.pt'
    def read(b):
        fn.write_bytes(b); d, why = read_member(fn)
        return d, _refusal(d, why, cfg, res['test_ids'], res['vocab'])
    def same(d):
        eq = lambda a, b: torch.equal(a, b) if isinstance(b, torch.Tensor) else a == b
        return set(d) == set(d0) and all(eq(d[k], d0[k]) for k in d0)
    return sweep(data, read, same, bits_of(data, sample))
'''

MAIN = '''
sample = None if sys.argv[1] == 'None' else int(sys.argv[1])
print(json.dumps(dict(small=run(3, 2, None), real_shape=run(3469, 2081, sample))))
'''

def measure(code:str, sample, pythonpath:str) -> dict:
    "Run the sweep in a fresh Python with `pythonpath` first, so each commit's paddy_road is the one imported."
    env = os.environ | dict(PYTHONPATH=pythonpath, PYTHONWARNINGS='ignore')
    r = subprocess.run([sys.executable, '-c', MEMBERS + SWEEP + code + MAIN, str(sample)], capture_output=True,
                       text=True, env=env, cwd=pythonpath)  # '' (the working directory) is first on sys.path
    if r.returncode: sys.exit(f'bitflip: the sweep failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sample', type=int, default=20000, help='bits flipped in the real-shaped file (at random)')
    ap.add_argument('--before', default='5a8ab82', help="an earlier commit to sweep too ('' for none)")
    ap.add_argument('--out', default=str(root/'bench'/'results'/'bitflip.json'))
    a = ap.parse_args()
    if a.sample < 1: ap.error(f'--sample {a.sample}: give a number of bits, at least 1.')
    res = dict(machine=os.uname().nodename, when=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               head=subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root, capture_output=True,
                                   text=True).stdout.strip(), now=measure(NOW, a.sample, str(root)))
    if a.before:
        with tempfile.TemporaryDirectory() as d:
            wt = Path(d)/'before'
            r = subprocess.run(['git', 'worktree', 'add', '--detach', str(wt), a.before], cwd=root, capture_output=True,
                               text=True)
            if r.returncode: sys.exit(f"bitflip: --before {a.before} is not a commit here: {r.stderr.strip()}")
            try: res |= dict(before_rev=a.before, before=measure(BEFORE, a.sample, str(wt)))
            finally: subprocess.run(['git', 'worktree', 'remove', '--force', str(wt)], cwd=root, capture_output=True)
    for when in ('before', 'now'):
        for size, r in res.get(when, {}).items():
            print(f"{when:6} {size:10} {r['bytes']:>9,} bytes, {r['bits_flipped']:>7,} flips: "
                  f"refused {r['refused']:,}, identical {r['identical']:,}, CHANGED {r['changed']:,}, "
                  f"raised {r['raised']:,}, hung {r['hung']:,}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')

if __name__ == '__main__': main()
