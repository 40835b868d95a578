"The CPU memory predictor against the lesson's published figures (issue 3's targets), run in CI."
import pytest
from paddy_road.gpu import PUBLISHED, LESSON_LARGE, KAGGLE_MIB, leave_one_out, calibrate, predict_gpu_mib, pick_accum

@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    import os
    old = os.environ.get('PADDY_ROAD_CACHE')
    os.environ['PADDY_ROAD_CACHE'] = str(tmp_path_factory.mktemp('memcache'))  # cold: really traces every config
    yield
    if old is None: os.environ.pop('PADDY_ROAD_CACHE')
    else: os.environ['PADDY_ROAD_CACHE'] = old

def test_leave_one_out(cache):
    loo = leave_one_out()
    assert len(loo) == len(PUBLISHED) == 8
    assert (loo.error_pct.abs() <= 15).all(), loo.to_string()
    assert loo.verdict_ok.all(), loo.to_string()

def test_large_models_oom_at_accum_1_and_fit_at_2(cache):
    calib = calibrate()
    for arch, size in LESSON_LARGE:
        assert predict_gpu_mib(arch, size, accum=1, calib=calib)['predicted_mib'] > KAGGLE_MIB, arch
        assert pick_accum(arch, size, calib=calib)['accum'] == 2, arch

def test_bad_accum():
    with pytest.raises(ValueError, match='accum=3 must divide bs=64'): predict_gpu_mib('resnet10t', 64, accum=3, calib=(0, 1))
