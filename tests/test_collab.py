"MovieLens loading (both real formats, written here as tiny files), bad input, and the fast path against fastai's."
import os
import numpy as np, pandas as pd, pytest, torch
from paddy_road import collab
from paddy_road.collab import (load_movielens, movielens_path, synth_ratings, tensor_dls, collab_dls, DotProductBias,
                               fit_fast, train_lesson, recommend, similar_movies)

def write_100k(d, rows=((1, 10, 3, 881250949), (1, 20, 5, 881250950), (2, 10, 4, 881250951)), items=None):
    d.mkdir(parents=True, exist_ok=True)
    (d/'u.data').write_text(''.join('\t'.join(map(str, r)) + '\n' for r in rows))
    items = items or [(10, 'Café (1995)'), (20, 'Twelve Monkeys (1995)')]
    (d/'u.item').write_bytes(''.join(f'{i}|{t}|01-Jan-1995||http://x|0|1\n' for i, t in items).encode('latin-1'))
    return d

def write_latest(d, ratings='userId,movieId,rating,timestamp\n1,10,3.5,964982703\n2,10,5.0,964982704\n1,20,0.5,964982705\n',
                 movies='movieId,title,genres\n10,"Heat (1995)",Action\n20,"Amélie (2001)",Comedy\n'):
    d.mkdir(parents=True, exist_ok=True)
    (d/'ratings.csv').write_text(ratings, encoding='utf-8'); (d/'movies.csv').write_text(movies, encoding='utf-8')
    return d

def test_ml100k(tmp_path):
    df = load_movielens(write_100k(tmp_path/'a'))
    assert list(df.columns) == ['user', 'movie', 'rating', 'timestamp', 'title'] and df.attrs['format'] == 'ml-100k'
    assert df.title.tolist() == ['Café (1995)', 'Twelve Monkeys (1995)', 'Café (1995)']   # latin-1 read right, order kept

def test_ml_latest(tmp_path):
    df = load_movielens(write_latest(tmp_path/'b'))
    assert df.attrs['format'] == 'ml-latest' and df.rating.tolist() == [3.5, 5.0, 0.5]
    assert df.title.tolist() == ['Heat (1995)', 'Heat (1995)', 'Amélie (2001)']

def test_duplicate_titles(tmp_path):
    d = write_100k(tmp_path/'c', items=[(10, 'Chasers (1994)'), (20, 'Chasers (1994)')])
    assert load_movielens(d).title.nunique() == 1 and load_movielens(d).attrs['duplicated_titles'] == 1
    assert load_movielens(d, dedupe_titles=True).title.tolist() == ['Chasers (1994) [10]', 'Chasers (1994) [20]', 'Chasers (1994) [10]']

@pytest.mark.parametrize('case,writer,message', [
    ('empty folder', lambda d: d.mkdir(), 'looked for u.data + u.item'),
    ('only u.data', lambda d: write_100k(d) and (d/'u.item').unlink(), 'looked for'),
    ('rating 6', lambda d: write_100k(d, rows=((1, 10, 6, 0),)), 'outside 1..5'),
    ('rating 3.5 in ml-100k', lambda d: write_100k(d, rows=((1, 10, 3.5, 0),)), 'outside 1..5 in steps of 1.0'),
    ('rating 0.25 in ml-latest', lambda d: write_latest(d, ratings='userId,movieId,rating,timestamp\n1,10,0.25,0\n'), 'outside 0.5..5'),
    ('NaN rating', lambda d: write_latest(d, ratings='userId,movieId,rating,timestamp\n1,10,,0\n'), 'empty user, movie or rating'),
    ('missing column', lambda d: write_latest(d, ratings='userId,movieId,stars\n1,10,3\n'), "lacks column(s) ['rating']"),
    ('movie without title', lambda d: write_100k(d, rows=((1, 99, 3, 0),)), 'have no title'),
])
def test_bad_input(tmp_path, case, writer, message):
    d = tmp_path/'bad'
    writer(d)
    with pytest.raises((ValueError, FileNotFoundError)) as e: load_movielens(d)
    assert message in str(e.value) and str(d) in str(e.value), str(e.value)

def test_movielens_path(tmp_path, monkeypatch):
    d = write_100k(tmp_path/'ml')
    assert movielens_path(d) == d
    monkeypatch.setenv('MOVIELENS_PATH', str(d)); assert movielens_path() == d
    monkeypatch.delenv('MOVIELENS_PATH')
    monkeypatch.setattr(collab, '_reachable', lambda *a, **k: False)   # never download in a test
    with pytest.raises(FileNotFoundError, match='set MOVIELENS_PATH'): movielens_path()

@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    return load_movielens(synth_ratings(tmp_path_factory.mktemp('synth'), n_users=200, n_movies=300, n_ratings=12000))

def test_synthetic_structure_is_learnable(synth):
    dls = tensor_dls(synth, seed=0)
    base = float(((dls.valid.y - dls.train.y.mean()) ** 2).mean())
    torch.manual_seed(0)
    h = fit_fast(DotProductBias(len(dls.classes['user']), len(dls.classes['title']), 20), dls, 5, 5e-3, wd=0.1, show=False)
    assert h.valid_loss.iloc[-1] < 0.75 * base, (h, base)

def test_fast_path_equals_fastai_learner(synth):
    "Same data, split, codes, initial weights and schedule: fastai's Learner and fit_fast end at the same weights."
    from fastai.torch_core import set_seed
    dls = tensor_dls(synth, seed=1)
    nu, ni = len(dls.classes['user']), len(dls.classes['title'])
    set_seed(3); a = DotProductBias(nu, ni, 10)
    set_seed(3); b = DotProductBias(nu, ni, 10)
    set_seed(4); learn = train_lesson(dls, a, epochs=2, wd=0.1)
    set_seed(4); h = fit_fast(b, dls, 2, 5e-3, wd=0.1, show=False)   # same shuffles: both draw torch.randperm per epoch
    for p, q in zip(a.parameters(), b.parameters()): torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)
    assert abs(float(learn.recorder.values[-1][1]) - h.valid_loss.iloc[-1]) < 1e-5

def test_tensor_dls_match_collab_dls(synth):
    a, b = collab_dls(synth, seed=5), tensor_dls(synth, seed=5)
    assert b.classes['title'] == list(a.classes['title'])
    assert torch.equal(b.valid.x, torch.tensor(a.valid_ds.cats.values.astype('int64')))

def test_unknown_user_and_movie(synth):
    dls = tensor_dls(synth, seed=0)
    m = DotProductBias(len(dls.classes['user']), len(dls.classes['title']), 4)
    with pytest.raises(KeyError, match='user -1 is not in the training data'): recommend(m, dls.classes, synth, -1)
    with pytest.raises(KeyError, match='close:'): similar_movies(m, dls.classes, 'Synthetic Movie 12 (196)')
    with pytest.raises(KeyError, match='placeholder'): similar_movies(m, dls.classes, '#na#')
