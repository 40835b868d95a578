"Every way a submission file can be spoiled, and what `check_submission` says about it (the good path: 03_submit)."
import numpy as np, pandas as pd, pytest
from paddy_road.core import DISEASES
from paddy_road.data import tst_files
from paddy_road.submit import submission, check_submission

@pytest.fixture
def good(paddy, tmp_path):
    probs = np.random.default_rng(1).random((len(tst_files(paddy)), len(DISEASES)))
    return probs, submission(probs, DISEASES, paddy, tmp_path/'sub.csv')

BAD = {  # name: (how to spoil the submission, what check_submission must say)
    'columns': (lambda s: s.rename(columns={'label': 'pred'}), 'exactly image_id,label'),
    'extra_column': (lambda s: s.assign(p=1), 'exactly image_id,label'),
    'nan': (lambda s: s.assign(label=[None] + list(s.label[1:])), 'empty values'),
    'duplicate': (lambda s: pd.concat([s, s.iloc[:1]]), 'more than once'),
    'missing': (lambda s: s.iloc[1:], 'lacks 1 id(s)'),
    'extra': (lambda s: pd.concat([s, pd.DataFrame(dict(image_id=['9.jpg'], label=['blast']))]), 'not in sample_sub'),
    'order': (lambda s: s.iloc[::-1], 'different order'),
    'label': (lambda s: s.assign(label=['rust'] + list(s.label[1:])), "unknown label(s) rust"),
}

@pytest.mark.parametrize('name', list(BAD))
def test_bad_submission(paddy, good, tmp_path, name):
    spoil, message = BAD[name]
    spoil(pd.read_csv(good[1])).to_csv(tmp_path/'bad.csv', index=False)
    with pytest.raises(ValueError) as e: check_submission(tmp_path/'bad.csv', paddy)
    assert message in str(e.value) and 'bad.csv' in str(e.value), str(e.value)
