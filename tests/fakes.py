"A fast stand-in for `train_member`, shared by the ensemble and bag tests."
import os, time, zlib
import torch
from paddy_road.core import DISEASES
from paddy_road.data import tst_files

class FakeTrainer:
    "Stands in for train_member: counts calls (and logs them to `log`, across processes); seeded random predictions."
    def __init__(self, fail=None, log=None, kill=None, delay:float=0., oom_below:int=None, hang=None):
        self.calls, self.fail, self.log, self.kill, self.delay, self.hang = [], fail or {}, log, kill, delay, hang
        self.oom_below = oom_below   # a card on which every member needs at least this accum
    def __call__(self, m, path, valid_names=None, **kwargs):
        self.calls.append(m.name)
        if self.log:
            with open(self.log, 'a') as f: f.write(f'{os.getpid()} {m.name}\n')  # one short append: atomic
        if m.name == self.kill: os.kill(os.getpid(), 9)    # a process dying in the middle of a member
        if m.name == self.hang: time.sleep(3600)           # a member that never returns (a stuck callback)
        if m.name in self.fail: raise self.fail[m.name]
        if self.oom_below and kwargs.get('accum', 1) < self.oom_below:
            raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 3.00 GiB')
        time.sleep(self.delay)  # a member that takes a while: other processes see its claim
        seed = zlib.crc32(m.name.encode())  # the same member gives the same results, in any process
        g = torch.Generator().manual_seed(seed)
        tst = [f.name for f in tst_files(path)]
        trn = sorted(f.name for f in (path/'train_images').glob('*/*.jpg'))
        val = sorted(valid_names) if valid_names is not None else trn[seed % 5::5]
        vp = torch.rand(len(val), 10, generator=g).softmax(1)
        return dict(test_probs=torch.rand(len(tst), 10, generator=g).softmax(1), test_ids=tst, vocab=DISEASES,
                    valid_probs=vp, valid_ids=val, valid_targets=torch.randint(0, 10, (len(val),), generator=g),
                    val_error=0.5, tta_val_error=0.4, split_seed=len(self.calls), seconds=0.01)

def logged(log) -> list:
    "The (pid, member name) lines a FakeTrainer logged."
    return [tuple(l.split()) for l in open(log).read().splitlines()] if os.path.exists(log) else []

class ChattyTrainer(FakeTrainer):
    "A FakeTrainer that prints an epoch table and warns, as fastai does while it trains."
    def __call__(self, m, path, **kwargs):
        import warnings
        from fastai.learner import defaults
        from fastai.callback.progress import ProgressCallback
        print(f'epoch     train_loss  valid_loss  ({m.name}; progress bars: {ProgressCallback in defaults.callbacks})')
        warnings.warn(f'a warning while training {m.name}')
        return super().__call__(m, path, **kwargs)

from fastai.callback.core import Callback

class LoaderSeen(Callback):
    "Writes, at a training batch, what fed it: this process, its start method, the loader's type and its live workers."
    def __init__(self, log): self.log = str(log)
    def before_fit(self): self._said = False   # one line per fit (a worker fits several members)
    def after_batch(self):
        import multiprocessing as mp
        if not self.training or getattr(self, '_said', False): return
        self._said, dl = True, self.dls.train
        live = len(mp.active_children())   # this process's children now: the loader's processes
        with open(self.log, 'a') as f:
            f.write(f'{os.getpid()} {mp.get_start_method()} {type(dl).__name__} {dl.fake_l.num_workers} {live}\n')

def loaders_seen(log) -> list:
    "The (pid, start method, loader type, num_workers, live child processes) lines a LoaderSeen wrote."
    return [l.split() for l in open(log).read().splitlines()] if os.path.exists(log) else []
