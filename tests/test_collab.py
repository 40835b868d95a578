"MovieLens loading: both real formats, written here as tiny files, and the bad-input matrix."
import pytest
from paddy_road import movielens
from paddy_road.collab import load_movielens, movielens_path, find_movielens

def write_100k(d, rows=((1, 10, 3, 881250949), (1, 20, 5, 881250950), (2, 10, 4, 881250951)), items=None):
    d.mkdir(parents=True, exist_ok=True)
    (d/'u.data').write_text(''.join('\t'.join(map(str, r)) + '\n' for r in rows))
    items = items or [(10, 'Café (1995)'), (20, 'Twelve Monkeys (1995)')]
    (d/'u.item').write_bytes(''.join(f'{i}|{t}|01-Jan-1995||http://x|0|1\n' for i, t in items).encode('latin-1'))
    return d

RATINGS = 'userId,movieId,rating,timestamp\n1,10,3.5,964982703\n2,10,5.0,964982704\n1,20,0.5,964982705\n'
MOVIES = 'movieId,title,genres\n10,"Heat (1995)",Action\n20,"Amélie (2001)",Comedy\n'

def write_latest(d, ratings=RATINGS, movies=MOVIES):
    d.mkdir(parents=True, exist_ok=True)
    (d/'ratings.csv').write_text(ratings, encoding='utf-8'); (d/'movies.csv').write_text(movies, encoding='utf-8')
    return d

def test_ml100k(tmp_path):
    df = load_movielens(write_100k(tmp_path/'a'))
    assert list(df.columns) == ['user', 'movie', 'rating', 'timestamp', 'title'] and df.attrs['format'] == 'ml-100k'
    assert df.title.tolist() == ['Café (1995)', 'Twelve Monkeys (1995)', 'Café (1995)']   # latin-1 read, order kept

def test_ml_latest(tmp_path):
    df = load_movielens(write_latest(tmp_path/'b'))
    assert df.attrs['format'] == 'ml-latest' and df.rating.tolist() == [3.5, 5.0, 0.5]
    assert df.title.tolist() == ['Heat (1995)', 'Heat (1995)', 'Amélie (2001)']

def test_duplicate_titles(tmp_path):
    d = write_100k(tmp_path/'c', items=[(10, 'Chasers (1994)'), (20, 'Chasers (1994)')])
    assert load_movielens(d).title.nunique() == 1 and load_movielens(d).attrs['duplicated_titles'] == 1
    deduped = ['Chasers (1994) [10]', 'Chasers (1994) [20]', 'Chasers (1994) [10]']
    assert load_movielens(d, dedupe_titles=True).title.tolist() == deduped

HEAD = 'userId,movieId,rating,timestamp\n'

@pytest.mark.parametrize('case,writer,message', [
    ('empty folder', lambda d: d.mkdir(), 'looked for u.data + u.item'),
    ('only u.data', lambda d: write_100k(d) and (d/'u.item').unlink(), 'looked for'),
    ('rating 6', lambda d: write_100k(d, rows=((1, 10, 6, 0),)), 'outside 1..5'),
    ('rating 3.5 in ml-100k', lambda d: write_100k(d, rows=((1, 10, 3.5, 0),)), 'outside 1..5 in steps of 1.0'),
    ('rating 0.25 in ml-latest', lambda d: write_latest(d, ratings=HEAD + '1,10,0.25,0\n'), 'outside 0.5..5'),
    ('NaN rating', lambda d: write_latest(d, ratings=HEAD + '1,10,,0\n'), 'empty user, movie or rating'),
    ('missing column', lambda d: write_latest(d, ratings='userId,movieId,stars\n1,10,3\n'), "lacks column(s) ['rating"),
    ('movie without title', lambda d: write_100k(d, rows=((1, 99, 3, 0),)), 'have no title'),
])
def test_bad_input(tmp_path, case, writer, message):
    d = tmp_path/'bad'
    writer(d)
    with pytest.raises((ValueError, FileNotFoundError)) as e: load_movielens(d)
    assert message in str(e.value) and str(d) in str(e.value), str(e.value)

def test_movielens_path(tmp_path, monkeypatch):
    d = write_100k(tmp_path/'ml')
    assert movielens_path(d) == d and find_movielens(d) == (d, 'the path you passed')
    monkeypatch.setenv('MOVIELENS_PATH', str(d)); assert movielens_path() == d
    assert find_movielens() == (d, 'MOVIELENS_PATH')
    monkeypatch.setenv('MOVIELENS_PATH', str(tmp_path/'nowhere'))
    with pytest.raises(FileNotFoundError, match='no such folder'): find_movielens()
    monkeypatch.delenv('MOVIELENS_PATH')
    monkeypatch.setattr(movielens, 'reachable', lambda *a, **k: False)   # never download in a test
    with pytest.raises(FileNotFoundError, match='set MOVIELENS_PATH'): movielens_path()
    assert find_movielens(download=True) == (None, 'no MovieLens data, and files.grouplens.org is not reachable')
