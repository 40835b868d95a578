"Generated bad arguments (Hypothesis): each public function refuses them before any work, naming the argument."
import contextlib, io, math, re
from pathlib import Path
import numpy as np, pytest, torch
from hypothesis import HealthCheck, given, settings, strategies as st
from paddy_road import collab, fastcollab, lazyadam, memtrace, plan, synth, train
from paddy_road.core import check_accum
from paddy_road.core import DISEASES
from paddy_road.data import kfold_names, paddy_dls, tst_files
from paddy_road.ensemble import Member, check_member, members_from
from paddy_road.gpu import gpu_budget
from paddy_road.bag import bag
from paddy_road.submit import submission
from paddy_road.cli import paddy_check, paddy_demo, paddy_synth
from fakes import FakeTrainer

FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Values that are wrong for each kind of argument: wrong types, then wrong values.
NOT_NUMBERS = st.sampled_from([None, '1', 'two', True, False, [1], (2,), {}, b'3', torch.tensor(1.)])
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
BAD = {
    'count': st.one_of(NOT_NUMBERS, NON_FINITE, st.integers(max_value=0), st.floats(0.01, 1e6).filter(lambda x: x % 1)),
    'count0': st.one_of(NOT_NUMBERS, NON_FINITE, st.integers(max_value=-1),
                        st.floats(0.5, 99.5).filter(lambda x: x % 1)),
    'positive': st.one_of(NOT_NUMBERS, NON_FINITE, st.floats(max_value=0, allow_nan=False), st.integers(max_value=0)),
    'nonneg': st.one_of(NOT_NUMBERS, NON_FINITE, st.floats(max_value=-1e-9, allow_nan=False),
                        st.integers(max_value=-1)),
    'fraction': st.one_of(NOT_NUMBERS, NON_FINITE, st.floats(max_value=0, allow_nan=False),
                          st.floats(min_value=1.0001)),
    'probs': st.one_of(NOT_NUMBERS, NON_FINITE, st.sampled_from(['1d', '3d', 'cols']),
                       NON_FINITE.map(lambda x: ('cell', x))),
    'size': st.one_of(NOT_NUMBERS, NON_FINITE, st.integers(max_value=7), st.integers(min_value=8193), st.just((64,)),
                      st.just((0, 64)), st.just((64, 64, 64))),
    'flag': st.one_of(st.sampled_from([None, 0, 1, 1.0, 'yes', 'True', [True], torch.tensor(True)]),
                      st.text(max_size=4)),
    'engine': st.one_of(NOT_NUMBERS, st.text(max_size=8).filter(lambda s: s not in fastcollab.ENGINES)),
}

@pytest.fixture(scope='module')
def ratings(tmp_path_factory):
    return collab.load_movielens(synth.synth_ratings(tmp_path_factory.mktemp('r')/'ml', n_users=60, n_movies=80,
                                                      n_ratings=1500))

def probs(v):
    "Test predictions spoiled as `v` says: a NaN or infinite cell, one or three dimensions, too few columns; else `v`."
    n = len(tst_files(_paddy[0]))
    if isinstance(v, tuple) and v[:1] == ('cell',): a = np.full((n, 10), 0.1); a[n // 2, 3] = v[1]; return a
    return {'1d': np.full(n, 0.1), '3d': np.full((n, 10, 1), 0.1), 'cols': np.full((n, 9), 0.1)}.get(v, v) \
        if isinstance(v, str) else v

_paddy = []

def none_is(v, bad):
    "`v`, or `bad` where the argument takes None as a valid value (the default)."
    return bad if v is None else v

def cases(paddy, tmp:Path, ratings) -> list:
    "(what is called, the argument's name, its kind): each call must refuse a bad value of that argument at once."
    t = FakeTrainer()
    dls = fastcollab.tensor_dls(ratings, seed=0)
    return [
        (lambda v: check_accum(1, bs=v), 'bs', 'count'),
        (lambda v: synth.synth_paddy(tmp/'s', scale=v), 'scale', 'fraction'),
        (lambda v: synth.synth_paddy(tmp/'s', floor=v), 'floor', 'count'),
        (lambda v: synth.synth_paddy(tmp/'s', seed=v), 'seed', 'count0'),
        (lambda v: synth.synth_ratings(tmp/'r', n_factors=v), 'n_factors', 'count'),
        (lambda v: synth.synth_ratings(tmp/'r', noise=v), 'noise', 'nonneg'),
        (lambda v: kfold_names(paddy, k=v), 'k', 'count'),
        (lambda v: paddy_dls(paddy, size=none_is(v, 0)), 'size', 'size'),
        (lambda v: paddy_dls(paddy, bs=v), 'bs', 'count'),
        (lambda v: paddy_dls(paddy, valid_pct=v), 'valid_pct', 'fraction'),
        (lambda v: train.train('resnet10t', v, path=paddy), 'size', 'size'),
        (lambda v: train.train('resnet10t', 32, path=paddy, epochs=v), 'epochs', 'count'),
        (lambda v: train.train('resnet10t', 32, path=paddy, lr=v), 'lr', 'positive'),
        (lambda v: train.train_learner('resnet10t', 32, path=paddy, bs=v), 'bs', 'count'),
        (lambda v: train.train_learner('resnet10t', 32, path=paddy, seed=none_is(v, -1)), 'seed', 'count0'),
        (lambda v: train.train_and_predict('resnet10t', 32, path=paddy, epochs=v), 'epochs', 'count'),
        (lambda v: gpu_budget(v), 'gpu', 'positive'),
        (lambda v: memtrace.pick_accum('resnet10t', v), 'size', 'size'),
        (lambda v: memtrace.predict_mem('resnet10t', 64, bs=v), 'bs', 'count'),
        (lambda v: check_member(Member('resnet10t', 32, weight=v)), 'weight', 'positive'),
        (lambda v: check_member(Member('resnet10t', 32, epochs=none_is(v, 0))), 'epochs', 'count'),
        (lambda v: bag([Member('resnet10t', 32)], paddy, tmp/'b', trainer=t, epochs=v), 'epochs', 'count'),
        (lambda v: bag([Member('resnet10t', 32)], paddy, tmp/'b', trainer=t, lr=v), 'lr', 'positive'),
        (lambda v: bag([Member('resnet10t', 32)], paddy, tmp/'b', trainer=t, folds=none_is(v, 1)), 'folds', 'count'),
        (lambda v: bag([Member('resnet10t', 32)], paddy, tmp/'b', trainer=t, procs=none_is(v, 0)), 'procs', 'count'),
        (lambda v: bag([Member('resnet10t', 32)], paddy, tmp/'b', trainer=t, time_budget=none_is(v, 0)), 'time_budget',
         'positive'),
        (lambda v: plan.member_minutes(v, 100.), 'train_ips', 'positive'),
        (lambda v: plan.plan_bag({'a': 10}, gpus=v), 'gpus', 'count'),
        (lambda v: plan.feed_check(100., v, 50.), 'gpus', 'count'),
        (lambda v: collab.collab_dls(ratings, bs=v), 'bs', 'count'),
        (lambda v: collab.DotProductBias(5, 5, v), 'n_factors', 'count'),
        (lambda v: fastcollab.tensor_dls(ratings, valid_pct=v), 'valid_pct', 'fraction'),
        (lambda v: fastcollab.fit_fast(collab.DotProductBias(61, 81, 5), dls, epochs=v, show=False), 'epochs', 'count'),
        (lambda v: fastcollab.fit_fast(collab.DotProductBias(61, 81, 5), dls, lr=v, show=False), 'lr', 'positive'),
        (lambda v: fastcollab.fit_fast(collab.DotProductBias(61, 81, 5), dls, wd=none_is(v, -1.), show=False), 'wd',
         'nonneg'),
        (lambda v: collab.recommend(collab.DotProductBias(61, 81, 5), dls.classes, ratings, 1, k=v), 'k', 'count'),
        (lambda v: submission(probs(v), DISEASES, paddy, tmp/'x.csv'), 'probs', 'probs'),
        (lambda v: fastcollab.fit_fast(collab.DotProductBias(61, 81, 5), dls, show=False, engine=v), 'engine',
         'engine'),
        (lambda v: fastcollab.wd_sweep(dls, epochs=v), 'epochs', 'count'),
        (lambda v: lazyadam.schedule(v, 5e-3, 0.1), 'steps', 'count'),
        (lambda v: lazyadam.schedule(100, v, 0.1), 'lr', 'positive'),
        (lambda v: lazyadam.schedule(100, 5e-3, v), 'wd', 'nonneg'),
        (lambda v: synth.movielens_like((v, 100, 1000)), 'users', 'count'),
        (lambda v: synth.movielens_like((100, 100, v)), 'ratings', 'count'),
        (lambda v: synth.movielens_like(seed=v), 'seed', 'count0'),
        (lambda v: synth.movielens_like((100, 100, 1000), n_factors=v), 'n_factors', 'count'),
        (lambda v: synth.movielens_like((100, 100, 1000), noise=v), 'noise', 'nonneg'),
        (lambda v: synth.movielens_like((100, 100, 1000), chunk=v), 'chunk', 'count'),
        (lambda v: members_from({'resnet10t': {(32, 32)}}, weights={'resnet10t': v}), 'weight', 'positive'),
        (lambda v: train.train_learner('resnet10t', 32, path=paddy, pretrained=False, tiny=v), 'tiny', 'flag'),
    ]

N_CASES = 50

@FIXTURES
@given(i=st.integers(0, N_CASES - 1), data=st.data())
def test_bad_argument_is_refused_naming_it(paddy, tmp_path, ratings, i, data):
    "Each public function, each bad value: a ValueError or TypeError whose one line names the argument and the value."
    _paddy[:] = [paddy]
    call, name, kind = cases(paddy, tmp_path, ratings)[i]
    v = data.draw(BAD[kind], label=f'{name} ({kind})')
    with pytest.raises((ValueError, TypeError)) as e: call(v)
    msg = str(e.value)
    assert name in msg and '\n' not in msg.strip(), (name, v, msg)
    assert not (tmp_path/'s').exists() and not (tmp_path/'r').exists()     # refused before anything was written

def test_the_case_table_is_whole(paddy, tmp_path, ratings):
    assert len(cases(paddy, tmp_path, ratings)) == N_CASES

# The console scripts: generated bad flags, run in this process; never exit 0, never a traceback, one line.
FLAGS = {  # flag: (values that are wrong for it, the exit status a wrong one gives)
    '--epochs': (st.one_of(st.integers(max_value=0).map(str), st.sampled_from(['two', '2.5', '', 'nan'])), 2),
    '--bs': (st.one_of(st.integers(max_value=0).map(str), st.sampled_from(['x', '1e3'])), 2),
    '--lr': (st.one_of(st.floats(max_value=0, allow_nan=False).map(repr), st.sampled_from(['nan', 'inf', 'fast'])), 2),
    '--size': (st.one_of(st.integers(max_value=7).map(str), st.integers(min_value=8193).map(str)), 2),
    '--item': (st.integers(max_value=7).map(str), 2),
    '--seed': (st.integers(max_value=-1).map(str), 2),
    '--gpu': (st.one_of(st.sampled_from(['0', '-100', 'nan', 'inf', 'V100', '', 'GTX 1080']),
                        st.floats(max_value=0, allow_nan=False).map(repr)), 2),
    '--stages': (st.one_of(st.sampled_from(['', ',', 'fly', 'train,fly', 'TRAIN']),
                           st.text(min_size=1, max_size=8).filter(lambda s: any(
                               x.strip() not in ('memory', 'train', 'ensemble', 'multitarget', 'collab')
                               for x in s.split(',')))), 2),
    '--pretrained': (st.text(max_size=6).filter(lambda s: s not in ('auto', 'yes', 'no')), 2),
    '--arch': (st.sampled_from(['resnet10', 'resnet10tt', 'convnext_smal', 'nope', '']), 2),
}
GOOD = {'--epochs': '1', '--bs': '16', '--lr': '0.01', '--size': '32', '--item': '48', '--seed': '3', '--gpu': 'T4',
        '--stages': 'train', '--pretrained': 'no', '--arch': 'resnet10t'}

def cli(cmd, argv) -> tuple:
    "(exit status, stderr) of console script `cmd` run with `argv`."
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        try: cmd(argv); code = 0
        except SystemExit as e: code = e.code
    return code, err.getvalue()

@FIXTURES
@given(bad=st.sampled_from(sorted(FLAGS)), data=st.data(), others=st.lists(st.sampled_from(sorted(GOOD)), max_size=4))
def test_paddy_demo_refuses_any_bad_flag(paddy, tmp_path, monkeypatch, bad, data, others):
    import paddy_road.cli as c
    monkeypatch.setattr(c, 'run_demo', lambda *a, **k: pytest.fail(f'the demo ran with a bad {bad}'))
    value = data.draw(FLAGS[bad][0], label=bad)
    argv = [x for o in others if o != bad for x in (o, GOOD[o])] + [f'{bad}={value}', '--out', str(tmp_path/'o')]
    code, err = cli(paddy_demo, ['--path', str(paddy)] + argv)
    assert code == FLAGS[bad][1], (argv, code, err)
    assert err.startswith('paddy_demo: usage error: ') and err.count('\n') == 1 and 'Traceback' not in err, err
    assert bad.lstrip('-') in err or repr(value) in err or value in err, (argv, err)

@FIXTURES
@given(flag=st.sampled_from(['--scale', '--width', '--height', '--seed', '--floor']), data=st.data())
def test_paddy_synth_refuses_any_bad_flag(tmp_path, flag, data):
    bad = {'--scale': st.one_of(st.floats(max_value=0, allow_nan=False).map(repr), st.floats(min_value=1.01).map(repr),
                                st.sampled_from(['nan', 'x'])),
           '--width': st.integers(max_value=15).map(str), '--height': st.integers(min_value=4097).map(str),
           '--seed': st.integers(max_value=-1).map(str), '--floor': st.integers(max_value=0).map(str)}[flag]
    value = data.draw(bad, label=flag)
    code, err = cli(paddy_synth, [str(tmp_path/'never'), f'{flag}={value}'])
    assert code == 2 and err.startswith('paddy_synth: usage error: ') and err.count('\n') == 1, (flag, value, err)
    assert not (tmp_path/'never').exists()

@FIXTURES
@given(name=st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\0/'), min_size=1,
                    max_size=20).filter(lambda s: s not in ('.', '..')))
def test_paddy_check_on_any_missing_folder(tmp_path, name):
    code, err = cli(paddy_check, ['--path', str(tmp_path/name)])
    assert code == 1 and err.startswith('paddy_check: error: ') and err.count('\n') == 1 and 'does not exist' in err

# MovieLens files: any u.data gives ratings or one error that names the file (and, for a bad field, its line).
def _write(d:Path, data:bytes) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d/'u.data').write_bytes(data)
    items = ''.join(f'{i}|Movie {i} (1995)|01-Jan-1995||x|0|1\n' for i in range(1, 11))
    (d/'u.item').write_bytes(items.encode('latin-1'))
    return d

ROWS = st.lists(st.tuples(st.one_of(st.integers(1, 12), st.text(max_size=3)),
                          st.one_of(st.integers(-1, 12), st.floats()),
                          st.one_of(st.integers(-2, 7), st.floats(), st.sampled_from(['five', '', '3.5'])),
                          st.integers(0, 10**9)), max_size=12)

@FIXTURES
@given(how=st.one_of(st.binary(max_size=200).map(lambda b: ('bytes', b)), ROWS.map(lambda r: ('rows', r))))
def test_any_u_data_loads_or_names_the_file(tmp_path, how):
    kind, arg = how
    data = arg if kind == 'bytes' else ''.join('\t'.join(map(str, r)) + '\n' for r in arg).encode()
    d = _write(tmp_path/'ml', data)
    try: df = collab.load_movielens(d)
    except (ValueError, FileNotFoundError) as e:
        msg = str(e)
        assert str(d/'u.data') in msg or str(d) in msg, msg
        if ' line ' in msg: assert re.search(r'line \d+', msg), msg
    else:
        assert len(df) and df.rating.between(1, 5).all() and df.title.notna().all()
        assert set(df.movie) <= set(range(1, 11))
