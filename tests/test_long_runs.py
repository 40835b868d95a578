"""A run you can leave for hours (issue 38): nothing fits, a micro-batch of one, a spent budget, a killed kernel or
worker, a stuck worker: each ends in one clear line, and nothing is left running."""
import os, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
from paddy_road.ensemble import Member
from paddy_road.bag import bag
from fakes import FakeTrainer, logged

TESTS = str(Path(__file__).parent)
FOUR = [Member('resnet10t', 32, s) for s in (40, 48, 56, 64)]

def test_nothing_fits_is_one_line_at_two_images_a_step(capsys):
    "A card far too small: the pick stops at 2 images a step (no trace of a batch of one) and says what to try."
    from paddy_road.memtrace import auto_accum, pick_accum
    p = pick_accum('convnext_small.fb_in22k', 128, gpu=1000)
    assert (p['accum'], p['bs'], p['fits']) == (32, 2, False)
    assert auto_accum('convnext_small.fb_in22k', 128, gpu=1000) == 32
    out = capsys.readouterr().out.strip()
    assert out.startswith("paddy_road: accum='auto' for convnext_small.fb_in22k at 128: nothing fits a 1000 MiB "
                          "(no GPU here): even accum 32 (2 images a step, the fewest fastai's head trains on) is "
                          "predicted to need "), out
    assert out.endswith(" of 1,000 MiB. Try a smaller size or a smaller model; trying accum 32.") and '\n' not in out

def test_a_micro_batch_of_one_is_refused_before_any_data_is_read(tmp_path):
    from paddy_road.train import train
    with pytest.raises(ValueError, match=r"^accum=64: a batch of 64 in 64 steps is 1 image a step, and "
                                         r"fastai's head normalises over the batch \(BatchNorm1d\), which needs 2: use "
                                         r"one of 1, 2, 4, 8, 16, 32\.$"):
        train('resnet10t', 32, accum=64, path=tmp_path/'no-such-data')   # the data would be the next thing read

@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the loader and own-error checks
def test_the_out_of_memory_ladder_stops_at_two_images_a_step(paddy, tmp_path, capsys):
    "bag's members and the timing share `next_accum`: 1, 2, ... 32 for a batch of 64, never 64 (one image a step)."
    man = bag(FOUR[:1], paddy, tmp_path, trainer=FakeTrainer(oom_below=64))
    assert man.status.tolist() == ['failed'] and man.tries.tolist() == [6]
    assert man.error[0].startswith('CUDA out of memory at accum 32 (2 images a step), the largest for a batch of 64')
    assert 'trying accum 64' not in capsys.readouterr().out



def _gone(pid:int) -> bool:
    "Whether process `pid` has ended (a zombie, exited and waiting to be reaped, counts as ended)."
    try: return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError: return True

@pytest.mark.slow   # real processes, a minute of CI: job 1 runs it
def test_a_killed_notebook_takes_its_workers_with_it(paddy, tmp_path, capsys):
    "The kernel SIGKILLed (the out-of-memory killer, a session's end) while two workers train: both gone within 10 s."
    log, out = tmp_path/'calls.log', tmp_path/'ens'
    (tmp_path/'nb.py').write_text(textwrap.dedent(f"""
        import sys; sys.path.insert(0, {TESTS!r})
        from paddy_road.ensemble import Member
        from paddy_road.bag import bag
        from fakes import FakeTrainer
        if __name__ == '__main__':
            bag([Member('resnet10t', 32, s) for s in (40, 48, 56, 64)], {str(paddy)!r}, {str(out)!r}, procs=2,
                trainer=FakeTrainer(log={str(log)!r}, delay=600))
        """))
    kernel = subprocess.Popen([sys.executable, str(tmp_path/'nb.py')], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=os.environ | dict(OMP_NUM_THREADS='1'))
    t0 = time.time()
    while len(logged(log)) < 2 and time.time() - t0 < 120 and kernel.poll() is None: time.sleep(0.2)
    workers = sorted({int(p) for p, _ in logged(log)})
    assert len(workers) == 2, logged(log)                        # both workers are in a member
    kernel.kill(); kernel.wait()
    t0 = time.time()
    while not all(map(_gone, workers)) and time.time() - t0 < 10: time.sleep(0.1)
    assert all(map(_gone, workers)), f'workers {workers} still running {time.time() - t0:.0f} s after the kernel died'
    t = FakeTrainer()
    man = bag(FOUR, paddy, out, trainer=t)                       # the next run: their claims taken over, all trained
    assert set(man.status) == {'ok'} and sorted(t.calls) == sorted(m.name for m in FOUR)
    assert capsys.readouterr().out.count(', left by a process that has ended).') == 2

@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the loader and own-error checks
def test_a_member_whose_worker_was_killed_is_tried_again_without_asking(paddy, tmp_path, capsys):
    out = tmp_path/'ens'
    first = bag(FOUR, paddy, out, trainer=FakeTrainer(kill=FOUR[1].name, delay=0.2), procs=2).set_index('key')
    assert first.loc[FOUR[1].name, 'status'] == 'failed'
    said = capsys.readouterr().out
    assert 'retry_failed' not in said.splitlines()[-1]            # the member did nothing wrong: nothing to fix
    t = FakeTrainer()
    again = bag(FOUR, paddy, out, trainer=t)                     # no retry_failed=True
    assert t.calls == [FOUR[1].name] and set(again.status) == {'ok'}
    assert (f'bag: {FOUR[1].name} failed in an earlier run, not through its own error (its worker '
            in capsys.readouterr().out)

@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the loader and own-error checks
def test_a_stuck_worker_is_stopped_at_the_stall_limit(paddy, tmp_path, capsys):
    "A member that never returns (a callback stuck): its worker stopped after stall_s, the member failed, a table back."
    stuck = FOUR[2].name
    t0 = time.time()
    # 10 s: a stand-in member says nothing while it saves (its first save imports safetensors), and on a loaded 2-core
    # machine that took over 5 s once; a real member beats at every batch
    man = bag(FOUR, paddy, tmp_path, trainer=FakeTrainer(hang=stuck), procs=2, stall_s=10).set_index('key')
    assert time.time() - t0 < 120
    assert man.loc[stuck, 'status'] == 'failed'
    assert man.loc[stuck, 'error'].startswith('its worker ') and (
        'stopped: no sign of progress (a batch, a line) for 10 s, the stall limit; its log: ') in (
        man.loc[stuck, 'error'])
    assert (man.drop(stuck).status == 'ok').all()
    assert 'bag: 3 of 4 members finished (3 trained); NOT FINISHED: ' in capsys.readouterr().out

def test_a_spent_budget_starts_nothing(paddy, tmp_path, capsys):
    t = FakeTrainer()
    man = bag(FOUR, paddy, tmp_path, trainer=t, started=time.time() - 13 * 3600, minutes=None)
    out = capsys.readouterr().out
    assert t.calls == [] and set(man.status) == {'not started'}
    assert "bag: the session's budget is spent: starting nothing (run again in a new session" in out
    assert set(man.error) == {'does not fit the time left (0 min left)'}

@pytest.mark.parametrize('started, said', [
    (time.monotonic(), r"days ago: give when this session began as a time.time\(\) \(time.monotonic\(\) counts from "),
    (time.time() + 3600, r"^started=[\d.]+ is \d+ min in the future: give when this session began")],
    ids=['monotonic', 'future'])   # fixed ids: a clock in them would differ between pytest-xdist's workers
def test_started_must_be_this_sessions_start(paddy, tmp_path, started, said):
    with pytest.raises(ValueError, match=said):
        bag(FOUR, paddy, tmp_path, trainer=FakeTrainer(), started=started)
    assert not list(tmp_path.glob('*'))

def test_a_members_own_accum_is_checked_against_the_bags_batch_before_any_member(paddy, tmp_path):
    t = FakeTrainer()
    members = FOUR[:2] + [Member('resnet10t', 32, 72, accum=32)]
    with pytest.raises(ValueError, match=r"^member resnet10t-32-squish72x72: Member.accum=32: a batch of 32 in 32 "
                                         r"steps is 1 image a step"):
        bag(members, paddy, tmp_path, trainer=t, bs=32)
    assert t.calls == []

def test_unreachable_weights_are_one_error_before_any_member_whatever_procs(paddy, tmp_path, monkeypatch):
    from paddy_road.pretrained import WeightsUnavailable
    monkeypatch.setenv('HF_HUB_OFFLINE', '1'); monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path/'empty-cache'))
    for procs in (1, 2):   # bag's own trainer (train_member): a stand-in would load no weights
        with pytest.raises(WeightsUnavailable, match=r"^pretrained weights for resnet10t are not in the cache and "
                                                     r"huggingface.co can.t be reached"):
            bag(FOUR, paddy, tmp_path/f'p{procs}', procs=procs, pretrained=True)
        assert not (tmp_path/f'p{procs}').exists()   # before the ensemble's folder, before any member

def test_what_does_not_pickle_is_named_by_member_and_field_in_one_short_line(paddy, tmp_path):
    import threading
    from fastai.vision.augment import Resize
    item = Resize(40); item.lock = threading.Lock()   # an item transform holding a lock: it can't cross into a worker
    odd = Member('resnet10t', 32, item)
    with pytest.raises(TypeError) as e:
        bag(FOUR[:1] + [odd], paddy, tmp_path, trainer=FakeTrainer(), procs=2, pretrained=False)
    msg = str(e.value)
    assert msg.startswith(f"member {odd.name}: Member.item=Resize -- ")
    assert (" can't cross into a worker process: it doesn't pickle (TypeError: cannot pickle '_thread.lock' "
            "object).") in msg
    assert len(msg) < 400 and '\n' not in msg

@pytest.mark.parametrize('accums', [4, [2, 4], 'resnet10t'])
def test_members_from_accums_must_be_a_dict(accums):
    from paddy_road.ensemble import members_from
    with pytest.raises(TypeError, match=rf"^accums={accums!r}: give a dict, \{{arch or member name: accum\}}".replace(
            '[', r'\[').replace(']', r'\]')):
        members_from({'resnet10t': {(40, 32)}}, accums=accums)

def test_gpu_out_of_memory_survives_a_pickle_round_trip():
    import pickle
    from paddy_road.recover import GPUOutOfMemory
    e = GPUOutOfMemory('CUDA out of memory training arch=...', dict(arch='resnet18', size=224, accum=2))
    back = pickle.loads(pickle.dumps(e))
    assert back == e and type(back) is GPUOutOfMemory and back.config == e.config and str(back) == str(e)

def test_train_under_no_grad_is_one_line(paddy):
    import torch
    from paddy_road.train import train
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"^gradients are off here \(a torch.no_grad\(\) or "
                                                            r"torch.inference_mode\(\) block around this call\)"):
        train('resnet10t', 32, path=paddy, pretrained=False, tiny=True, epochs=1)

@pytest.mark.parametrize('bad, exc', [(0, ValueError), (-1, ValueError), (float('nan'), ValueError), ('30', TypeError),
                                      (True, TypeError)])
def test_bags_stall_limit_is_checked_first(paddy, tmp_path, bad, exc):
    with pytest.raises(exc, match=rf"^stall_s={bad!r}: it must be a finite number at least 1 \(seconds a worker may "
                                  r"go without a batch; None\)\.$"):
        bag(FOUR, paddy, tmp_path, trainer=FakeTrainer(), stall_s=bad)
    assert not list(tmp_path.glob('*'))

@pytest.mark.parametrize('kw, exc, said', [
    (dict(stall_s=0), ValueError, 'stall_s=0: it must be a finite number above 0 (seconds; None: no limit).'),
    (dict(stall_s=float('inf')), ValueError,
     'stall_s=inf: it must be a finite number above 0 (seconds; None: no limit).'),
    (dict(until=-5), ValueError, 'until=-5: it must be a finite number at least 0 (a time.time()).'),
    (dict(until='soon'), TypeError, "until='soon': it must be a finite number at least 0 (a time.time()).")])
def test_spawn_eachs_watch_arguments_are_checked_first(kw, exc, said):
    from paddy_road.launch import spawn_each
    with pytest.raises(exc) as e:
        spawn_each(lambda a, r: None, None, 1, gpus=0, **kw)
    assert str(e.value) == said
