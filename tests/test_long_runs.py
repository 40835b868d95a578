"""A run you can leave for hours (issue 38): nothing fits, a micro-batch of one, a spent budget, a killed kernel or
worker, a stuck worker: each ends in one clear line, and nothing is left running."""
import pytest
from paddy_road.ensemble import Member
from paddy_road.bag import bag
from fakes import FakeTrainer

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

def test_the_out_of_memory_ladder_stops_at_two_images_a_step(paddy, tmp_path, capsys):
    "bag's members and the timing share `next_accum`: 1, 2, ... 32 for a batch of 64, never 64 (one image a step)."
    man = bag(FOUR[:1], paddy, tmp_path, trainer=FakeTrainer(oom_below=64))
    assert man.status.tolist() == ['failed'] and man.tries.tolist() == [6]
    assert man.error[0].startswith('CUDA out of memory at accum 32 (2 images a step), the largest for a batch of 64')
    assert 'trying accum 64' not in capsys.readouterr().out
