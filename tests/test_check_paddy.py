"The bad-data matrix: each case breaks a copy of the synthetic set and expects `check_paddy` to name the problem."
import shutil
import pandas as pd, pytest
from paddy_road.data import check_paddy, PaddyDataError

def _csv(p): return pd.read_csv(p/'train.csv')
def _first_train(p): return sorted((p/'train_images').glob('*/*.jpg'))[0]

def drop_dir(p): shutil.rmtree(p/'train_images')
def drop_csv(p): (p/'train.csv').unlink()
def drop_col(p): _csv(p).drop(columns='variety').to_csv(p/'train.csv', index=False)
def blank_value(p): df = _csv(p); df.loc[3, 'age'] = None; df.to_csv(p/'train.csv', index=False)
def dup_row(p): df = _csv(p); pd.concat([df, df.iloc[:1]]).to_csv(p/'train.csv', index=False)
def unknown_label(p): df = _csv(p); df.loc[0, 'label'] = 'rust'; df.to_csv(p/'train.csv', index=False)
def row_missing(p): df = _csv(p); df[df.image_id != _first_train(p).name].to_csv(p/'train.csv', index=False)
def image_missing(p): _first_train(p).unlink()
def wrong_folder(p):
    f = _first_train(p); other = 'normal' if f.parent.name != 'normal' else 'blast'
    f.rename(p/'train_images'/other/f.name)
def corrupt(p): _first_train(p).write_bytes(b'this is not a jpeg at all' * 20)
def truncated(p): f = _first_train(p); b = f.read_bytes(); f.write_bytes(b[:len(b)*4//5])  # header intact, tail cut
def empty_file(p): _first_train(p).write_bytes(b'')
def no_test(p): shutil.rmtree(p/'test_images'); (p/'test_images').mkdir()
def no_sample(p): (p/'sample_submission.csv').unlink()
def sample_cols(p):
    ss = p/'sample_submission.csv'
    pd.read_csv(ss).rename(columns={'label': 'y'}).to_csv(ss, index=False)
def gone_test_image(p): sorted((p/'test_images').iterdir())[0].unlink()
def extra_test_image(p): shutil.copy(sorted((p/'test_images').iterdir())[0], p/'test_images'/'299999.jpg')

CASES = [  # (how to break it, what the message must say, the file it must name)
    (drop_dir, 'is missing', 'train_images'),
    (drop_csv, 'is missing', 'train.csv'),
    (drop_col, "lacks column(s) ['variety']", 'train.csv'),
    (blank_value, 'empty values in rows 3', 'train.csv'),
    (dup_row, 'twice', 'train.csv'),
    (unknown_label, "unknown label(s) ['rust']", 'train.csv'),
    (row_missing, 'have no row in train.csv', 'train_images'),
    (image_missing, 'have no image in train_images/', 'train.csv'),
    (wrong_folder, "disagrees with train.csv's label", 'train_images'),
    (corrupt, 'unreadable image', 'UnidentifiedImageError'),
    (truncated, 'truncated JPEG', 'train_images'),
    (empty_file, 'empty file', 'train_images'),
    (no_test, 'missing or empty', 'test_images'),
    (no_sample, 'is missing', 'sample_submission.csv'),
    (sample_cols, 'expected image_id,label', 'sample_submission.csv'),
    (gone_test_image, '1 id(s) without an image', 'sample_submission.csv'),
    (extra_test_image, "1 image(s) not listed (299999.jpg)", 'test_images'),
]

def test_good_set(paddy):
    s = check_paddy(paddy)
    assert s['n_train'] == len(_csv(paddy)) and s['n_test'] == len(list((paddy/'test_images').iterdir()))
    assert set(s['labels']) <= set(pd.read_csv(paddy/'train.csv').label)

def test_full_decode(paddy): assert check_paddy(paddy, full=True)['n_train'] > 0

@pytest.mark.parametrize('breaker,message,names', CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_set(paddy_copy, breaker, message, names):
    breaker(paddy_copy)
    with pytest.raises(PaddyDataError) as e: check_paddy(paddy_copy)
    msg = str(e.value)
    assert message in msg, msg
    assert str(paddy_copy) in msg and names in msg, msg  # which file, in which folder

def test_not_a_folder(tmp_path):
    with pytest.raises(PaddyDataError, match='is not a folder'): check_paddy(tmp_path/'nowhere')

def test_images_skipped(paddy_copy):
    corrupt(paddy_copy)
    assert check_paddy(paddy_copy, images=False)['n_train'] > 0  # the fast mode only checks the tables
