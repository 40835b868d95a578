"Ensemble bookkeeping (resume, corruption, failures, weights, folds) with a fast fake trainer."
import dataclasses
import pandas as pd, pytest, torch
from fastai.vision.all import Resize
from paddy_road.train import TrainingFailed
from paddy_road.ensemble import Member
from paddy_road.store import PartialEnsemble, Store, average_members, load_member, manifest, oob_error
from paddy_road.bag import bag
from fakes import FakeTrainer

MEMBERS = [Member('resnet10t', 32, Resize(48, method='squish'), weight=2), Member('resnet10t', 32, Resize((64, 48))),
           Member('test_convnext', 32, Resize(48, method='squish'))]

def test_resume_trains_only_missing(paddy, tmp_path):
    t = FakeTrainer()
    bag(MEMBERS[:1], paddy, tmp_path, trainer=t)
    assert t.calls == [MEMBERS[0].name]
    t2 = FakeTrainer()
    man = bag(MEMBERS, paddy, tmp_path, trainer=t2)
    assert t2.calls == [m.name for m in MEMBERS[1:]] and len(man) == 3 and set(man.status) == {'ok'}
    t3 = FakeTrainer()
    bag(MEMBERS, paddy, tmp_path, trainer=t3)
    assert t3.calls == []
    assert (tmp_path/'manifest.csv').exists() and len(pd.read_csv(tmp_path/'manifest.csv')) == 3

@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'tamper'])
def test_corrupt_member_is_retrained(paddy, tmp_path, damage):
    bag(MEMBERS, paddy, tmp_path, trainer=FakeTrainer())
    fn = Store(tmp_path).member_file(MEMBERS[1].name)
    if damage == 'truncate': fn.write_bytes(fn.read_bytes()[:len(fn.read_bytes()) // 2])
    elif damage == 'garbage': fn.write_bytes(b'\0' * 100)
    else:  # one probability edited in place: the checksum no longer matches
        data = bytearray(fn.read_bytes()); data[-8] ^= 0x10; fn.write_bytes(bytes(data))
    assert load_member(tmp_path, MEMBERS[1].name) is None
    assert manifest(tmp_path).set_index('key').loc[MEMBERS[1].name, 'status'] == 'damaged'
    t = FakeTrainer()
    bag(MEMBERS, paddy, tmp_path, trainer=t)
    assert t.calls == [MEMBERS[1].name]
    assert set(manifest(tmp_path).status) == {'ok'}

def test_failures_recorded_and_skipped(paddy, tmp_path):
    t = FakeTrainer(fail={MEMBERS[0].name: torch.cuda.OutOfMemoryError('CUDA out of memory'),
                          MEMBERS[1].name: TrainingFailed('NaN loss')})
    man = bag(MEMBERS, paddy, tmp_path, trainer=t).set_index('key')
    assert t.calls == [MEMBERS[0].name] * 6 + [m.name for m in MEMBERS[1:]]   # accum 1, 2, 4, ..., 32, then given up
    assert man.loc[MEMBERS[0].name, 'error'] == ('CUDA out of memory at accum 32 (2 images a step), the largest for '
                                                 'a batch of 64: CUDA out of memory')
    assert man.loc[MEMBERS[0].name, 'tries'] == 6 and man.loc[MEMBERS[1].name, 'tries'] == 1
    assert man.loc[MEMBERS[1].name, 'error'] == 'NaN loss'
    assert man.loc[MEMBERS[2].name, 'status'] == 'ok'
    t2 = FakeTrainer()
    bag(MEMBERS, paddy, tmp_path, trainer=t2)
    assert t2.calls == []                                     # failures are not retried by default
    bag(MEMBERS, paddy, tmp_path, trainer=t2, retry_failed=True)
    assert t2.calls == [MEMBERS[0].name, MEMBERS[1].name]

def test_other_errors_stop_the_run(paddy, tmp_path):
    t = FakeTrainer(fail={MEMBERS[1].name: KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt): bag(MEMBERS, paddy, tmp_path, trainer=t)
    assert list(manifest(tmp_path).key) == [MEMBERS[0].name]

def test_weighted_mean(paddy, tmp_path):
    bag(MEMBERS, paddy, tmp_path, trainer=FakeTrainer())
    p = {m.name: load_member(tmp_path, m.name).test_probs for m in MEMBERS}
    ep = average_members(tmp_path)
    manual = torch.stack([p[MEMBERS[0].name], p[MEMBERS[0].name], p[MEMBERS[1].name], p[MEMBERS[2].name]]).mean(0)
    torch.testing.assert_close(ep.probs, manual)                # weight 2 == listed twice
    ep = average_members(tmp_path, weights={MEMBERS[2].name: 0})
    torch.testing.assert_close(ep.probs, torch.stack([p[MEMBERS[0].name]] * 2 + [p[MEMBERS[1].name]]).mean(0))
    with pytest.raises(KeyError, match="weights for members not in the average: \\['nope'\\]"):
        average_members(tmp_path, weights={'nope': 1})

def test_mismatched_ids_refused(paddy, tmp_path):
    bag(MEMBERS[:2], paddy, tmp_path, trainer=FakeTrainer())
    st = Store(tmp_path)
    r = st.read(MEMBERS[1].name)[0]
    st.save(dataclasses.replace(r, test_ids=r.test_ids[::-1]))   # a sound file that predicted another order
    with pytest.raises(FileNotFoundError, match=f"{MEMBERS[1].name}: stale \\(predicted other test images"):
        average_members(tmp_path, keys=[m.name for m in MEMBERS[:2]])
    said = f"averaging 1 of the 2 members asked for in {tmp_path}; not in the average: {MEMBERS[1].name}: stale"
    with pytest.warns(PartialEnsemble, match=said):
        assert list(average_members(tmp_path).weights) == [MEMBERS[0].name]

def test_folds_cover_the_data_once(paddy, tmp_path):
    man = bag(MEMBERS, paddy, tmp_path, trainer=FakeTrainer(), folds=3)
    assert sorted(man.fold.astype(int)) == [0, 1, 2]
    o = oob_error(tmp_path)
    assert o['images'] == len(pd.read_csv(paddy/'train.csv')) and o['members_per_image'] == 1.0

def test_bag_checks_all_members_before_training(paddy, tmp_path):
    t = FakeTrainer()
    with pytest.raises(ValueError, match='test_vit takes 160x160'):
        bag(MEMBERS + [Member('test_vit', 128)], paddy, tmp_path, trainer=t)
    assert t.calls == []
