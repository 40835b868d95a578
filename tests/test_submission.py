"Submission format: what `submission` writes and what `check_submission` refuses."
import numpy as np, pandas as pd, pytest
from paddy_road.data import DISEASES, submission, check_submission
from paddy_road.data import test_files as tst_files  # not named test_*: pytest would collect it

@pytest.fixture
def good(paddy, tmp_path):
    probs = np.random.default_rng(1).random((len(tst_files(paddy)), len(DISEASES)))
    return probs, submission(probs, DISEASES, paddy, tmp_path/'sub.csv')

def test_good(paddy, good):
    probs, fn = good
    sub = check_submission(fn, paddy)
    assert list(sub.image_id) == list(pd.read_csv(paddy/'sample_submission.csv').image_id)
    assert list(sub.label) == [DISEASES[i] for i in probs.argmax(1)]

def test_ids_reordered(paddy, good, tmp_path):
    "Rows given in another order are put back in sample_submission's order, each with its own label."
    probs, fn = good
    ids = [f.name for f in tst_files(paddy)]
    perm = np.random.default_rng(2).permutation(len(ids))
    fn2 = submission(probs[perm], DISEASES, paddy, tmp_path/'sub2.csv', ids=[ids[i] for i in perm])
    assert pd.read_csv(fn2).equals(pd.read_csv(fn))

def test_bad_shapes(paddy, good, tmp_path):
    probs, _ = good
    with pytest.raises(ValueError, match='prediction rows'): submission(probs[:-1], DISEASES, paddy, tmp_path/'x.csv')
    with pytest.raises(ValueError, match='vocab has 9 labels'): submission(probs, DISEASES[:9], paddy, tmp_path/'x.csv')

BAD = {  # name: (how to spoil the submission, what check_submission must say)
    'columns': (lambda s: s.rename(columns={'label': 'pred'}), 'exactly image_id,label'),
    'extra_column': (lambda s: s.assign(p=1), 'exactly image_id,label'),
    'nan': (lambda s: s.assign(label=[None] + list(s.label[1:])), 'empty values'),
    'duplicate': (lambda s: pd.concat([s, s.iloc[:1]]), 'more than once'),
    'missing': (lambda s: s.iloc[1:], 'lacks 1 id(s)'),
    'extra': (lambda s: pd.concat([s, pd.DataFrame(dict(image_id=['999999.jpg'], label=['blast']))]), 'not in sample_submission'),
    'order': (lambda s: s.iloc[::-1], 'different order'),
    'label': (lambda s: s.assign(label=['rust'] + list(s.label[1:])), "unknown label(s) rust"),
}

@pytest.mark.parametrize('name', list(BAD))
def test_bad_submission(paddy, good, tmp_path, name):
    spoil, message = BAD[name]
    spoil(pd.read_csv(good[1])).to_csv(tmp_path/'bad.csv', index=False)
    with pytest.raises(ValueError) as e: check_submission(tmp_path/'bad.csv', paddy)
    assert message in str(e.value) and 'bad.csv' in str(e.value), str(e.value)
