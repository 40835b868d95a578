"Issues 30-31's new arguments: each bad value gets one clear line, before any work; good ones do what they say."
import math, time
import pytest
from fastai.vision.all import Resize
from paddy_road.bag import bag
from paddy_road.ensemble import Member, members_from
from paddy_road.launch import spawn_each
from paddy_road.train import resolve_accum, train
from fakes import FakeTrainer

MODELS = {'swinv2_large_window12_192_22k': {(Resize(480, method='squish'), 192)},
          'vit_large_patch16_224': {(Resize(480, method='squish'), 224)}}

def test_members_from_accums():
    ms = members_from(MODELS, accums={'swinv2_large_window12_192_22k': 4})   # the lesson's timm 0.6 name works
    assert [m.accum for m in ms] == [4, None]
    assert [m.accum for m in members_from(MODELS, accums={ms[1].name: 8})] == [None, 8]   # or a member's name
    with pytest.raises(ValueError, match=r"accums: 'vit_large' is neither an arch of models nor a member's name"):
        members_from(MODELS, accums={'vit_large': 2})
    with pytest.raises(ValueError, match=r"accums\['vit_large_patch16_224'\]: accum=3: it must be a whole number that "
                                         r"divides the batch of 64"):
        members_from(MODELS, accums={'vit_large_patch16_224': 3})

@pytest.mark.parametrize('v', ['in an hour', -1, math.nan, 'yesterday'])   # fixed ids: xdist's workers must agree
def test_bag_started(paddy, tmp_path, v):
    v = time.time() + 3600 if v == 'in an hour' else v
    with pytest.raises((ValueError, TypeError), match=r"^started="):
        bag([Member('resnet10t', 32)], paddy, tmp_path, trainer=FakeTrainer(), started=v)
    assert not list(tmp_path.glob('*.member'))

def test_train_retry_oom_and_auto(paddy):
    with pytest.raises(TypeError, match=r"^retry_oom='yes': use True or False\.$"):
        train('resnet10t', 32, path=paddy, retry_oom='yes')
    with pytest.raises(ValueError, match=r"^accum='Auto': it must be a whole number that divides the batch of 64"):
        resolve_accum('Auto', 'resnet10t', 32)
    assert resolve_accum('auto', 'swinv2_large_window12_192.ms_in22k', 192) == 4   # the README's T4 table

@pytest.mark.parametrize('kw, exc, said', [
    (dict(procs=0), ValueError, r'^procs=0: it must be a whole number at least 1 \(one per GPU\)'),
    (dict(procs=1.5), TypeError, r'^procs=1.5: it must be a whole number'),
    (dict(procs=2, gpus=-1), ValueError, r'^gpus=-1: it must be a whole number at least 0')])
def test_spawn_each_counts(kw, exc, said):
    with pytest.raises(exc, match=said): spawn_each(print, None, **kw)

def _visible(_, rank):
    import os
    return os.environ.get('CUDA_VISIBLE_DEVICES')

@pytest.mark.slow   # job 1 only, to keep CI short: environment variables and processes, the same on either stack
def test_spawn_each_keeps_the_users_gpus(monkeypatch):
    "With CUDA_VISIBLE_DEVICES=3,5 set by the user, worker 0 gets GPU 3 and worker 1 GPU 5, not 0 and 1."
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3,5')
    ended = spawn_each(_visible, None, 2, gpus=2)
    assert [(e.result, e.gpu) for e in ended] == [('3', 3), ('5', 5)]

def test_a_file_where_the_logs_go(paddy, tmp_path):
    (tmp_path/'logs').write_text('not a folder')
    with pytest.raises(NotADirectoryError, match=r"^out_dir/logs='.*logs' is a file, not a folder"):
        bag([Member('resnet10t', 32)], paddy, tmp_path, trainer=FakeTrainer())
    with pytest.raises(NotADirectoryError, match=r"^logs='.*logs' is a file, not a folder"):
        spawn_each(print, None, 2, gpus=0, logs=tmp_path/'logs')
