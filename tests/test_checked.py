"""Training checks its data first: `train`, `bag` and `paddy_demo` stop a damaged copy with `check_paddy`'s own line,
before the first epoch; the check is remembered by a digest of the folder's listing, so a rerun costs no check."""
import json, os, shutil, subprocess
import pytest
import paddy_road.datacheck as dc
from paddy_road.datacheck import PaddyDataError, check_paddy, checked_paddy, listing_digest
from paddy_road.train import train
from paddy_road.bag import bag
from paddy_road.ensemble import Member
from conftest import script

TINY = dict(size=32, item=40, bs=8, epochs=1, pretrained=False, tiny=True, num_workers=0)

@pytest.fixture
def cache(tmp_path, monkeypatch):
    "A private cache, and this process's own record forgotten: every test starts with nothing checked."
    monkeypatch.setenv('PADDY_ROAD_CACHE', str(tmp_path/'cache'))
    monkeypatch.setattr(dc, '_CHECKED', {})
    return tmp_path/'cache'

def _no_blast(p):
    "The damage issue 39 found: one label's folder missing from the attached data."
    shutil.rmtree(p/'train_images'/'blast')

def _own_line(p) -> str:
    with pytest.raises(PaddyDataError) as e: check_paddy(p)
    return str(e.value)

def test_train_stops_a_damaged_copy_with_check_paddys_line(paddy_copy, cache):
    _no_blast(paddy_copy)
    own = _own_line(paddy_copy)
    assert 'have no image in train_images/' in own
    with pytest.raises(PaddyDataError) as e: train('resnet10t', path=paddy_copy, **TINY)
    assert str(e.value) == own

def test_bag_stops_before_any_member_or_output(paddy_copy, cache, tmp_path):
    _no_blast(paddy_copy)
    out = tmp_path/'ens'
    with pytest.raises(PaddyDataError) as e:
        bag([Member('resnet10t', 32, 40)], paddy_copy, out, epochs=1, accum=1, pretrained=False, tiny=True, bs=8,
            num_workers=0)
    assert str(e.value) == _own_line(paddy_copy)
    assert not out.exists()   # nothing written: no manifest, no log, no claim

def test_paddy_demo_stops_with_the_same_line(paddy_copy, cli_env, tmp_path):
    _no_blast(paddy_copy)
    r = subprocess.run([script('paddy_demo'), '--path', str(paddy_copy), '--stages', 'train', '--epochs', '1',
                        '--out', str(tmp_path/'o')], env=cli_env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1
    assert r.stderr == f'paddy_demo: error: {_own_line(paddy_copy)}\n'
    assert list((tmp_path/'o').iterdir()) == []   # --out is made (checked writable) before the data; left empty

def test_a_rerun_of_the_same_folder_runs_no_check(paddy, cache, monkeypatch):
    s = checked_paddy(paddy)
    assert (cache/'checked'/f'{listing_digest(paddy)}.json').is_file()
    def no_check(*a, **k): raise AssertionError('checked again')
    monkeypatch.setattr(dc, 'check_paddy', no_check)
    monkeypatch.setattr(dc, '_CHECKED', {})   # as a fresh process: only the record on disk
    assert checked_paddy(paddy) == s

def test_a_fresh_process_finds_the_record(paddy, cache, cli_env):
    checked_paddy(paddy)
    code = ("import paddy_road.datacheck as dc, sys\n"
            "dc.check_paddy = lambda *a, **k: sys.exit('checked again')\n"
            f"print(dc.checked_paddy({str(paddy)!r})['n_train'])")
    r = subprocess.run(['python', '-c', code], env=cli_env | dict(PADDY_ROAD_CACHE=str(cache)), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == check_paddy(paddy)['n_train']

@pytest.mark.parametrize('change', ['remove', 'rewrite', 'add'])
def test_a_changed_folder_is_checked_again(paddy_copy, cache, change):
    checked_paddy(paddy_copy)
    f = sorted((paddy_copy/'train_images'/'blast').iterdir())[0]
    if change == 'remove': f.unlink(); words = 'have no image in train_images/'
    elif change == 'rewrite':
        f.write_bytes(b'x' * f.stat().st_size); words = 'unreadable image(s)'   # same size, new bytes and time
    else: shutil.copy(f, paddy_copy/'train_images'/'blast'/'new.jpg'); words = 'have no row in train.csv'
    with pytest.raises(PaddyDataError, match=words.replace('(', r'\(').replace(')', r'\)')): checked_paddy(paddy_copy)

def test_what_a_listing_cannot_see(paddy_copy, cache):
    "The documented limit: bytes changed in place with size, time and inode kept are not seen until check_paddy."
    checked_paddy(paddy_copy)
    f = sorted((paddy_copy/'train_images'/'blast').iterdir())[0]
    st = f.stat()
    with open(f, 'r+b') as h: h.write(b'not a jpeg')
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert checked_paddy(paddy_copy)['n_train'] > 0
    with pytest.raises(PaddyDataError, match='unreadable image'): check_paddy(paddy_copy)

@pytest.mark.parametrize('record', ['', '{"path": "/tm', '[1, 2]', '{"path": "x"}', '\x00\xff'])
def test_a_torn_or_foreign_record_is_no_record(paddy, cache, record):
    fn = cache/'checked'/f'{listing_digest(paddy)}.json'
    fn.parent.mkdir(parents=True); fn.write_text(record, errors='surrogateescape')
    assert checked_paddy(paddy) == check_paddy(paddy)
    assert json.loads(fn.read_text())['n_train'] == check_paddy(paddy)['n_train']   # rewritten

def test_a_cache_that_cannot_be_written(paddy, tmp_path, monkeypatch):
    "A cache path that is a file (root ignores chmod, so a file is how a read-only cache is made here)."
    (tmp_path/'cache').write_text('a file')
    monkeypatch.setenv('PADDY_ROAD_CACHE', str(tmp_path/'cache'))
    monkeypatch.setattr(dc, '_CHECKED', {})
    assert checked_paddy(paddy) == check_paddy(paddy)

def test_full_is_its_own_check(paddy):
    assert listing_digest(paddy, full=True) != listing_digest(paddy)

def test_bad_arguments(paddy, tmp_path):
    with pytest.raises(TypeError) as e: checked_paddy(3)
    assert str(e.value) == "path=3: give a folder's path (str or Path)."
    with pytest.raises(TypeError) as e: checked_paddy(paddy, full='yes')
    assert str(e.value) == "full='yes': use True or False."
    with pytest.raises(PaddyDataError) as e: checked_paddy(tmp_path/'nowhere')
    assert str(e.value) == (f"{tmp_path/'nowhere'} does not exist: pass the folder holding train.csv and "
                            "train_images/.")
