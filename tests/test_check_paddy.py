"The bad-data matrix: each case breaks a copy of the synthetic set and expects `check_paddy` to name the problem."
import shutil
import pandas as pd, pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image
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
def stray_image(p): shutil.copy(_first_train(p), p/'train_images'/'stray.jpg')
def nested(p):
    d = p/'train_images'/'blast'/'extra'; d.mkdir()
    f = sorted((p/'train_images'/'blast').glob('*.jpg'))[0]; f.rename(d/f.name)
def two_labels(p):
    f = _first_train(p); other = 'normal' if f.parent.name != 'normal' else 'blast'
    shutil.copy(f, p/'train_images'/other/f.name)                   # the same image under a second label
def latin1(p):
    df = _csv(p); df.loc[4, 'variety'] = 'Ponni\u00e9'; df.to_csv(p/'train.csv', index=False, encoding='latin-1')
def empty_csv(p): (p/'train.csv').write_text('')
def age_words(p):
    df = _csv(p).astype({'age': str}); df.loc[5, 'age'] = 'forty-five'; df.to_csv(p/'train.csv', index=False)
def age_frac(p): df = _csv(p).astype({'age': float}); df.loc[2, 'age'] = 45.5; df.to_csv(p/'train.csv', index=False)
def csv_folder(p): (p/'train.csv').unlink(); (p/'train.csv').mkdir()
def images_file(p): shutil.rmtree(p/'train_images'); (p/'train_images').write_text('not a folder')
def sample_latin1(p): (p/'sample_submission.csv').write_bytes(b'image_id,label\n\xe9t\xe9.jpg,blast\n')
def ragged(p): (p/'train.csv').write_text((p/'train.csv').read_text() + '1.jpg,blast,ADT45,60,extra,fields\n')

CASES = [  # (how to break it, what the message must say, the file it must name)
    (drop_dir, 'is missing', 'train_images'),
    (drop_csv, 'is missing', 'train.csv'),
    (drop_col, "lacks column(s) ['variety']", 'train.csv'),
    (blank_value, 'empty values on line(s) 5', 'train.csv'),
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
    (stray_image, "1 file(s) directly in", 'train_images (stray.jpg), where no label folder is'),
    (nested, 'is a folder inside a label folder', 'train_images/blast/extra'),
    (two_labels, 'image(s) in', 'sit under two labels'),
    (latin1, 'is not UTF-8 text (line 6)', 'train.csv'),
    (empty_csv, 'is empty', 'train.csv'),
    (age_words, "has age 'forty-five' on line 7: ages are whole numbers of days", 'train.csv'),
    (age_frac, "has age '45.5' on line 4", 'train.csv'),
    (csv_folder, 'is a folder, not a file', 'train.csv'),
    (images_file, 'is a file, not a folder', 'train_images'),
    (sample_latin1, 'is not UTF-8 text (line 2)', 'sample_submission.csv'),
    (ragged, "can't be read as the competition's train.csv: Error tokenizing data", 'train.csv'),
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
    with pytest.raises(PaddyDataError, match='nowhere does not exist: pass the folder'): check_paddy(tmp_path/'nowhere')

def test_images_skipped(paddy_copy):
    corrupt(paddy_copy)
    assert check_paddy(paddy_copy, images=False)['n_train'] > 0  # the fast mode only checks the tables

def test_png_named_jpg_is_fine(paddy_copy):
    "Images are judged by their content: a readable PNG saved under a .jpg name is no truncated JPEG."
    f = _first_train(paddy_copy)
    Image.open(f).save(f, format='PNG')
    assert Image.open(f).format == 'PNG'
    assert check_paddy(paddy_copy)['n_train'] == len(_csv(paddy_copy))
    assert check_paddy(paddy_copy, full=True)['n_train'] == len(_csv(paddy_copy))

def test_a_file_is_not_a_folder(paddy):
    with pytest.raises(PaddyDataError, match=f"{paddy/'train.csv'} is a file, not a folder"):
        check_paddy(paddy/'train.csv')
    with pytest.raises(TypeError, match="path=3: give a folder's path"): check_paddy(3)

@pytest.fixture(scope='module')
def csv_copy(paddy, tmp_path_factory):
    "A private copy of the synthetic set whose train.csv the generated cases overwrite (the images stay as they are)."
    return shutil.copytree(paddy, tmp_path_factory.mktemp('csv')/'set')

CELLS = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(str), st.floats().map(str),
                  st.sampled_from(['', ' ', 'nan', 'NA', 'blast', 'forty-five', '1e3', '45.0', '"', ',', '\n']))

@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=st.one_of(
    st.binary(max_size=300).map(lambda b: ('bytes', b)),
    st.tuples(st.integers(0, 100), st.sampled_from(['image_id', 'label', 'variety', 'age']), CELLS).map(
        lambda t: ('cell', t)),
    st.sampled_from(['image_id', 'label', 'variety', 'age']).map(lambda c: ('drop', c))))
def test_any_train_csv_gives_a_summary_or_one_clear_error(csv_copy, how):
    "Any train.csv: `check_paddy` returns its summary or raises one `PaddyDataError` naming a file of the set."
    kind, arg = how
    good = (csv_copy/'train.csv').with_suffix('.good')
    if not good.exists(): shutil.copy(csv_copy/'train.csv', good)
    df = pd.read_csv(good, dtype=str)
    if kind == 'bytes': (csv_copy/'train.csv').write_bytes(arg)
    elif kind == 'drop': df.drop(columns=arg).to_csv(csv_copy/'train.csv', index=False)
    else:
        i, col, val = arg
        df.loc[i % len(df), col] = val; df.to_csv(csv_copy/'train.csv', index=False)
    try: s = check_paddy(csv_copy, images=False)
    except PaddyDataError as e: assert str(csv_copy) in str(e) and '\n' not in str(e).strip(), str(e)
    else: assert s['n_train'] == len(pd.read_csv(csv_copy/'train.csv')) and 1 <= s['ages'][0] <= s['ages'][1] <= 365
