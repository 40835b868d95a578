"A GPU the installed torch has no kernels for (Kaggle's P100 today), faked on a CPU: every entry point refuses it."
from contextlib import contextmanager
from unittest.mock import patch
import pytest
from paddy_road.core import check_cuda_arch
from paddy_road.train import train_learner, train_and_predict
from paddy_road.gpu import probe
from paddy_road.ensemble import Member
from paddy_road.bag import bag

CU128 = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']   # Kaggle's cu128 torch: no Pascal

@contextmanager
def fake_card(cap, name, archs=CU128):
    "CUDA 'available' with this card and this torch build; no real CUDA call is made."
    fakes = dict(is_available=True, is_initialized=True, get_device_capability=cap, get_device_name=name,
                 get_arch_list=archs)
    with patch.multiple('torch.cuda', **{k: (lambda v: lambda *a, **k: v)(v) for k, v in fakes.items()}): yield

P100 = ((6, 0), 'Tesla P100-PCIE-16GB')

@pytest.mark.parametrize('entry', [
    lambda p: check_cuda_arch(),
    lambda p: train_learner('resnet10t', 32, path=p/'not-there'),              # before the data is even looked for
    lambda p: train_and_predict('resnet10t', 32, path=p/'not-there', pretrained=False),
    lambda p: probe('resnet10t', 32, path=p/'not-there'),
    lambda p: bag([Member('resnet10t', 32)], p/'not-there', p/'out'),
], ids=['check_cuda_arch', 'train_learner', 'train_and_predict', 'probe', 'bag'])
def test_p100_refused_first(tmp_path, entry):
    with fake_card(*P100), pytest.raises(RuntimeError) as e: entry(tmp_path)
    msg = str(e.value)
    for part in ('Tesla P100-PCIE-16GB', 'compute capability 6.0 (sm_60)', 'sm_75, sm_80', "pick 'GPU T4 x2'",
                 'install a torch built for sm_60'):
        assert part in msg, msg
    assert not (tmp_path/'out').exists()   # nothing written

@pytest.mark.parametrize('cap,name', [((7, 5), 'Tesla T4'), ((8, 9), 'NVIDIA L4'), ((8, 0), 'NVIDIA A100-SXM4-40GB'),
                                      ((8, 6), 'NVIDIA GeForce RTX 3090'), ((12, 0), 'NVIDIA RTX PRO 6000')])
def test_todays_cards_run(cap, name):
    with fake_card(cap, name): check_cuda_arch()

def test_old_torch_runs_p100():
    with fake_card(*P100, archs=['sm_50', 'sm_60', 'sm_70', 'sm_75']): check_cuda_arch()
