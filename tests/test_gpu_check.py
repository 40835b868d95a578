"bench/gpu_check.py --dry-run: the GPU check's own path on a CPU, so that a lent GPU's minutes aren't spent on a bug."
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.mark.slow
def test_dry_run_takes_every_stage_and_saves_each(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/'bench/gpu_check.py'), '--dry-run', '--no-notebooks', '--order',
                        '--out', str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path/'gpu_check-dry-run-cpu.json').read_text())
    assert res['stages'] == ['stack', 'probes', 'cuda_cells', 'order', 'throughput']
    said = [l.split(' done at ')[0] for l in r.stdout.splitlines() if l.startswith('gpu_check: ')]
    assert said == [f'gpu_check: {s}' for s in res['stages']]   # each stage announced (and saved) as it ended
    probes = res['probes']
    assert len(probes) == 2 * 4 and {p['error'] for p in probes} == {'no CUDA GPU'}   # 2 cards x (2 archs x 2 accums)
    assert all(0 < p['tensor_peak_pred'] < p['mib_pred'] for p in probes)   # traced in the spawned pool
    assert {(p['card'], p['arch'], p['accum']) for p in probes} == {
        (c, a, n) for c in ('T4', 'P100') for a in ('resnet10t', 'test_vit') for n in (1, 2)}
    assert res['recovery']['ok'] is True and len(res['recovery']['checks']) == 8   # checked after every probe
    assert res['overhead_fit'] is None   # nothing measured: no fit
    again = [(p['card'], p['arch'], p['accum']) for p in res['probes_reversed']]   # the T4 sweep, last config first
    assert again == [('T4', a, n) for a in ('test_vit', 'resnet10t') for n in (2, 1)]
    assert res['order']['ok'] is True and len(res['order']['rows']) == 4
    assert res['throughput'][0]['arch'] == 'resnet10t' and res['throughput'][0]['train_img_s'] > 0


def test_order_check_says_what_moved():
    sys.path.insert(0, str(ROOT/'bench'))
    import pandas as pd
    from gpu_check import order_check
    first = pd.DataFrame(dict(card='T4', arch=['a', 'b', 'c'], size='224', accum=[1, 2, 2],
                              verdict=['fits', 'fits', 'OOM'], tensor_peak=[1000., 2000., 14000.]))
    assert order_check(first, first)['ok'] is True
    moved = first.assign(tensor_peak=[1030., 2000., 13000.])   # 3% on a config that ran: what ran before mattered
    r = order_check(first, moved)
    assert r['ok'] is False and [x['same'] for x in r['rows']] == [False, True, True]   # an OOM's peak is no figure
    assert order_check(first, first.assign(verdict=['fits', 'OOM', 'OOM']))['ok'] is False
