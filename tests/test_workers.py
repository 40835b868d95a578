"""The path a GPU run takes, on the CPU with real processes: fastai's own loader processes (num_workers > 0) inside
bag's fresh workers, after this process has trained; from a script file and from a notebook kernel; `train` with spawn
as the start method; and a member's own error kept to that member."""
import os, subprocess, sys, textwrap
from pathlib import Path
import pandas as pd, pytest
from paddy_road.ensemble import Member
from paddy_road.bag import bag
from paddy_road.bagwork import RepeatedFailure
from fakes import FakeTrainer, loaders_seen

TESTS = str(Path(__file__).parent)
FOUR = [Member('resnet10t', 32, s) for s in (40, 48, 56, 64)]

def _program(paddy, out, seen) -> str:
    """What a student's script (or notebook) does: train once here, then the lesson's bag over two fresh workers. Not
    timed first (minutes=None, to keep CI short): .ci/kaggle's version 1 runs minutes='measure' in two fresh workers
    with fastai's loader processes, after its notebook shell has trained, and fails unless the plan says it measured."""
    return textwrap.dedent(f"""
        import sys; sys.path.insert(0, {TESTS!r})
        from paddy_road.ensemble import Member
        from paddy_road.train import train
        from paddy_road.bag import bag
        from fakes import LoaderSeen
        small = dict(pretrained=False, tiny=True, epochs=1, bs=16, num_workers=2, path={str(paddy)!r})
        train('resnet10t', 32, item=40, finetune=False, cbs=[LoaderSeen({str(seen)!r})], **small)  # in this process
        members = [Member('resnet10t', 32, s) for s in (40, 48, 56)]
        man = bag(members, out_dir={str(out)!r}, procs=2, minutes=None, cbs=[LoaderSeen({str(seen)!r})], **small)
        print('STATUS', ' '.join(man.status))
        """)

def _check(out:str, seen:Path):
    "Every member ok; every fit (here, and each member's in one of the two workers) fed by ForkDL, 2 loader processes."
    assert 'STATUS ok ok ok' in out, out[-3000:]
    here, *there = loaders_seen(seen)                          # the fit here, then each fit in a worker
    assert here[2:] == ['ForkDL', '2', '2'], here
    assert len(there) == 3 and all(l[1:] == ['spawn', 'ForkDL', '2', '2'] for l in there), there
    assert here[0] not in {l[0] for l in there} and len({l[0] for l in there}) == 2, there  # the workers

@pytest.mark.slow   # job 1 only: on the newest releases, 00c_loaders' spawned-process check covers ForkDL
def test_bag_in_fresh_workers_with_fastais_loaders_from_a_script(paddy, tmp_path):
    "A script file (with the `__main__` guard spawn needs): trained here first, then 3 members on 2 workers."
    fn, seen = tmp_path/'lesson.py', tmp_path/'seen.log'
    body = _program(paddy, tmp_path/'ens', seen)
    fn.write_text("if __name__ == '__main__':\n" + textwrap.indent(body, '    '))
    r = subprocess.run([sys.executable, str(fn)], capture_output=True, text=True, timeout=900,
                       env=os.environ | dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    _check(r.stdout, seen)

def test_train_with_loader_processes_when_the_start_method_is_spawn(paddy, tmp_path):
    "A notebook on Python 3.14 (forkserver) or one that set spawn: train's loader processes still start, and train."
    seen = tmp_path/'seen.log'
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {TESTS!r})
        import multiprocessing as mp
        if __name__ == '__main__':
            mp.set_start_method('spawn', force=True)
            from paddy_road.train import train
            from fakes import LoaderSeen
            learn = train('resnet10t', 32, item=40, finetune=False, cbs=[LoaderSeen({str(seen)!r})], pretrained=False,
                          tiny=True, epochs=1, bs=16, num_workers=2, path={str(paddy)!r})
            print('ERROR', learn.recorder.values[-1][-1])
        """)
    (tmp_path/'t.py').write_text(code)
    r = subprocess.run([sys.executable, str(tmp_path/'t.py')], capture_output=True, text=True, timeout=600,
                       env=os.environ | dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'ERROR ' in r.stdout
    assert [l[1:] for l in loaders_seen(seen)] == [['spawn', 'ForkDL', '2', '2']]

@pytest.mark.slow
def test_bag_in_fresh_workers_with_fastais_loaders_from_a_notebook_kernel(paddy, tmp_path):
    "The same in a real Jupyter kernel (ipykernel through nbclient), the way a Kaggle notebook runs the lesson."
    import nbformat
    from nbclient import NotebookClient
    seen = tmp_path/'seen.log'
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_program(paddy, tmp_path/'ens', seen))])
    NotebookClient(nb, timeout=900, kernel_name='python3', resources=dict(metadata=dict(path=str(tmp_path)))).execute()
    out = ''.join(o.get('text', '') for o in nb.cells[0].outputs if o.output_type == 'stream')
    _check(out, seen)

@pytest.mark.parametrize('procs', [1, 2])
def test_a_members_own_error_is_that_members_failure(paddy, tmp_path, capsys, procs):
    "A ValueError in one member: it is failed with its type, message and log; every other member trains."
    bad = FOUR[1].name
    man = bag(FOUR, paddy, tmp_path, trainer=FakeTrainer(fail={bad: ValueError('a callback broke')}, delay=0.2),
              procs=procs).set_index('key')
    assert man.loc[bad, 'status'] == 'failed'
    assert man.loc[bad, 'error'] == f"ValueError: a callback broke; its log: {tmp_path/'logs'/(bad + '.log')}"
    assert (man.drop(bad).status == 'ok').all() and len(man) == 4
    assert 'Traceback' in (tmp_path/'logs'/f'{bad}.log').read_text()    # its traceback, where the error says
    out = capsys.readouterr().out
    assert 'not started' not in out and f'NOT FINISHED: {bad}: failed (ValueError: a callback broke' in out
    t = FakeTrainer()
    assert bag(FOUR, paddy, tmp_path, trainer=t, procs=procs).status.tolist()[1] == 'failed' and t.calls == []
    assert bag(FOUR, paddy, tmp_path, trainer=t, retry_failed=True).status.tolist() == ['ok'] * 4 and t.calls == [bad]

@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the loader and own-error checks
@pytest.mark.parametrize('procs', [1, 2])
def test_the_same_error_twice_in_a_row_stops_the_bag(paddy, tmp_path, procs):
    "A bug that fails every member (the same type and message twice in a row): one RepeatedFailure, not 8 failures."
    eight = [Member('resnet10t', 32, s) for s in range(40, 80, 5)]
    every = {m.name: ValueError('bad callback') for m in eight}
    with pytest.raises(RepeatedFailure, match=r"failed with the same error as resnet10t-32-squish\d+x\d+ just before "
                       r"it \(ValueError: bad callback\): that is the training itself .* run bag again with "
                       r"retry_failed=True\.$"):
        bag(eight, paddy, tmp_path, trainer=FakeTrainer(fail=every), procs=procs)
    failed = list(tmp_path.glob('*.failed.json'))
    assert 2 <= len(failed) <= 2 * procs, failed          # each process stops at its second failure, not at the 8th
    man = pd.read_csv(tmp_path/'manifest.csv')              # the folder's manifest, written before the error
    assert (man.status == 'failed').sum() == len(failed)

@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the loader and own-error checks
def test_the_feed_check_in_a_fresh_worker_with_loader_processes(paddy):
    "bag's feed note measures the item pipeline in a worker with one loader process per core: it runs there."
    from paddy_road.feed import feed_rate
    from paddy_road.launch import spawn_each
    (e,) = spawn_each(lambda p, rank: feed_rate(p, 40, num_workers=2, bs=8), paddy, 1, gpus=0)
    assert e.error is None, e.error
    assert e.result > 0
