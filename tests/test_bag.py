"bag over several processes (accelerate's debug_launcher on the CPU), a killed process, plans, resuming."
import os, time
from pathlib import Path
import pandas as pd, pytest, torch
from accelerate import debug_launcher
from torch.multiprocessing.spawn import ProcessExitedException
from paddy_road.ensemble import Member
from paddy_road.store import Store, average_members, manifest
from paddy_road.submit import submission
from paddy_road.bag import bag
from fakes import FakeTrainer, logged

FOUR = [Member('resnet10t', 32, s) for s in (40, 48, 56, 64)]
NAMES = sorted(m.name for m in FOUR)
TWO = dict(procs=2, launcher=debug_launcher)

def test_two_processes_train_each_member_once(paddy, tmp_path):
    log = tmp_path/'calls.log'
    two = bag(FOUR, paddy, tmp_path/'two', trainer=FakeTrainer(log=log), **TWO)
    assert sorted(n for _, n in logged(log)) == NAMES                  # each member exactly once
    one = bag(FOUR, paddy, tmp_path/'one', trainer=FakeTrainer())
    assert sorted(two.key) == sorted(one.key) == NAMES and set(two.status) == {'ok'}
    subs = []
    for d in (tmp_path/'two', tmp_path/'one'):
        ep = average_members(d)
        subs.append(pd.read_csv(submission(ep.probs, ep.vocab, paddy, tmp_path/f'{d.name}.csv', ids=ep.ids)))
    pd.testing.assert_frame_equal(subs[0], subs[1])                  # the same members: the same submission
    assert not list((tmp_path/'two').glob('*.claim')) and (tmp_path/'two'/'manifest.csv').exists()

def test_killed_process_loses_only_its_member(paddy, tmp_path):
    log, out = tmp_path/'calls.log', tmp_path/'ens'
    with pytest.raises(ProcessExitedException, match='terminated with signal SIGKILL'):  # the launcher says so
        bag(FOUR, paddy, out, trainer=FakeTrainer(log=log, kill=FOUR[1].name), **TWO)
    first = logged(log)
    m1 = manifest(out).set_index('key')
    done = set(m1.index[m1.status == 'ok'])
    assert FOUR[1].name not in done and Store(out).claim_file(FOUR[1].name).exists()   # its claim outlives it
    assert m1.loc[FOUR[1].name, 'status'] == 'missing'                                  # but holds nothing now
    assert set(m1.status) <= {'ok', 'missing'}                                          # what finished is intact
    log2 = tmp_path/'calls2.log'
    man = bag(FOUR, paddy, out, trainer=FakeTrainer(log=log2), **TWO)
    again = sorted(n for _, n in logged(log2))
    assert again == sorted(set(NAMES) - done) and FOUR[1].name in again   # the dead claim is taken over; nothing twice
    assert sorted(man.key) == NAMES and set(man.status) == {'ok'}
    assert len(first) >= 2 and not list(out.glob('*.claim'))

def test_plan_lists_what_does_not_fit(paddy, tmp_path, capsys):
    t = FakeTrainer()
    mins = {m.name: 20 for m in FOUR} | {FOUR[3].name: 5}
    bag(FOUR, paddy, tmp_path, trainer=t, minutes=mins, time_budget=15 * 60, started=time.time())
    out = capsys.readouterr().out
    for m in FOUR[:3]: assert 'does not fit: longer than the whole budget' in out and f'not starting {m.name}' in out
    assert t.calls == [FOUR[3].name]                       # the short one still fits, and only it is trained
    assert "don't fit the time left" in out

def test_measured_plan(paddy, tmp_path, capsys):
    man = bag(FOUR[:2], paddy, tmp_path, trainer=FakeTrainer(), minutes='measure', bs=16, num_workers=0)
    out = capsys.readouterr().out
    assert 'member' in out and 'fits' in out and len(man) == 2      # timed on this CPU, then planned
    assert not (tmp_path/'.timing').exists()

def test_resume_from_earlier_version(paddy, tmp_path, capsys):
    v1 = tmp_path/'v1'/'ensemble'
    bag(FOUR[:2], paddy, v1, trainer=FakeTrainer())
    torch.save({'not': 'a member'}, Store(v1).member_file(FOUR[2].name))   # a file under a member's name: not one
    t = FakeTrainer()
    man = bag(FOUR, paddy, tmp_path/'v2'/'ensemble', trainer=t, resume_from=[v1])
    assert t.calls == [m.name for m in FOUR[2:]] and sorted(man.key) == NAMES
    assert f"{FOUR[2].name}.member: a torch file, not a paddy_road member" in capsys.readouterr().out
    w = Member(FOUR[0].arch, FOUR[0].size, FOUR[0].item, weight=3)          # a new weight needs no retraining
    t2 = FakeTrainer()
    man = bag([w] + FOUR[1:], paddy, tmp_path/'v3', trainer=t2, resume_from=[tmp_path/'v2'/'ensemble'])
    assert t2.calls == [] and man.set_index('key').loc[w.name, 'weight'] == 3

@pytest.mark.slow
def test_accelerate_launch_script(paddy, tmp_path):
    "From a script: the launcher (torchrun, as `accelerate launch` uses) starts the processes; each member once."
    import subprocess
    from conftest import script
    (tmp_path/'run_bag.py').write_text(
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\nfrom paddy_road.ensemble import Member\nfrom paddy_road.bag import bag\n"
        "from fakes import FakeTrainer\n"
        "members = [Member('resnet10t', 32, s) for s in (40, 48, 56, 64)]\n"
        f"man = bag(members, {str(paddy)!r}, {str(tmp_path/'ens')!r},\n"
        f"          trainer=FakeTrainer(log={str(tmp_path/'log')!r}))\n"
        f"import os; open(os.path.join({str(tmp_path)!r}, 'rank' + os.environ['RANK']), 'w').write(str(len(man)))\n")
    # torchrun is what `accelerate launch --num_processes 2` runs on GPUs; on a CPU accelerate would start one process
    r = subprocess.run([script('torchrun'), '--nproc_per_node', '2', str(tmp_path/'run_bag.py')],
                       capture_output=True, text=True, timeout=600, env=os.environ | dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert [(tmp_path/f'rank{r}').read_text() for r in (0, 1)] == ['4', '4']   # both processes return the manifest
    assert sorted(n for _, n in logged(tmp_path/'log')) == NAMES             # each member once

def _whole_lines(said:str) -> list:
    "The bag's lines about members; each a whole line (two workers never interleave half-lines)."
    lines = [l for l in said.splitlines() if l.startswith('bag: ')]
    for l in lines: assert l.count('bag: ') == 1, l
    return lines

def test_fresh_workers_after_this_process_computed(paddy, tmp_path, capsys):
    "Spawned workers (the default launch): this process has already run torch on its threads; each member once."
    threads = torch.get_num_threads()
    torch.set_num_threads(2)   # several OpenMP threads, started: what a fork would inherit and hang on
    try: torch.nn.Linear(256, 256)(torch.randn(512, 256)).sum().backward()
    finally: torch.set_num_threads(threads)
    log = tmp_path/'calls.log'
    two = bag(FOUR, paddy, tmp_path/'two', trainer=FakeTrainer(log=log, delay=0.3), procs=2)
    calls = logged(log)
    assert sorted(n for _, n in calls) == NAMES and str(os.getpid()) not in {p for p, _ in calls}
    assert set(two.status) == {'ok'} and not list((tmp_path/'two').glob('*.claim'))
    lines = _whole_lines(capsys.readouterr().out)
    for n in NAMES:   # each member named when it starts (where, with its accum) and when it ends
        assert sum(l.startswith(f'bag: {n} starting on CPU (worker ') and l.endswith(', accum 1') for l in lines) == 1
        assert sum(l.startswith(f'bag: {n} done in ') and ', valid error 0.5000 [' in l for l in lines) == 1
    ends = [l.rsplit('[', 1)[1] for l in lines if ' done in ' in l]   # how far the run is, after each member
    assert [e.split(' min')[0].rsplit(' ', 1)[0] for e in ends] == [f'{i} of 4 ended,' for i in (1, 2, 3, 4)], ends
    assert (tmp_path/'two'/'logs'/'worker0.log').exists()   # what the workers printed themselves

@pytest.mark.slow   # job 1 only, to keep CI short: a worker's death is the OS's, on either stack
def test_fresh_worker_killed_takes_only_its_member(paddy, tmp_path, capsys):
    "A worker killed mid-member: that member is recorded as failed, the others are trained, this process goes on."
    out = tmp_path/'ens'
    man = bag(FOUR, paddy, out, trainer=FakeTrainer(kill=FOUR[1].name, delay=0.3), procs=2).set_index('key')
    assert man.loc[FOUR[1].name, 'status'] == 'failed'
    assert 'died (killed by SIGKILL); its log: ' in man.loc[FOUR[1].name, 'error']
    assert (man.drop(FOUR[1].name).status == 'ok').all() and not list(out.glob('*.claim'))
    assert f'bag: {FOUR[1].name} failed (its worker ' in capsys.readouterr().out
    t = FakeTrainer()
    again = bag(FOUR, paddy, out, trainer=t, retry_failed=True)   # the next run trains only what is missing
    assert t.calls == [FOUR[1].name] and set(again.status) == {'ok'}

def test_what_cannot_cross_is_named_before_any_member(paddy, tmp_path):
    import threading
    with pytest.raises(TypeError, match=r"cbs=\[<unlocked _thread.lock .*\] can't cross into a worker process: it "
                                        r"doesn't pickle"):
        bag(FOUR, paddy, tmp_path, trainer=FakeTrainer(), procs=2, cbs=[threading.Lock()])
    assert not list(tmp_path.glob('*.member'))


@pytest.mark.slow   # job 1 only, to keep CI short: job 2 keeps the in-process ladder and the error's pickle round trip
def test_out_of_memory_retried_at_twice_the_accum_in_fresh_workers(paddy, tmp_path, capsys):
    "A card on which every member needs accum=4: each is tried at 1, 2, then 4, in its worker, and trained there."
    man = bag(FOUR[:2], paddy, tmp_path, trainer=FakeTrainer(oom_below=4), procs=2)
    assert man.status.tolist() == ['ok', 'ok'] and man.accum.tolist() == [4, 4] and man.tries.tolist() == [3, 3]
    lines = _whole_lines(capsys.readouterr().out)
    for m in FOUR[:2]:
        assert [l for l in lines if l.startswith(f'bag: {m.name} ran out')] == [
            f'bag: {m.name} ran out of GPU memory at accum 1; trying accum 2.',
            f'bag: {m.name} ran out of GPU memory at accum 2; trying accum 4.']
    t = FakeTrainer()
    assert bag(FOUR[:2], paddy, tmp_path, trainer=t, accum=1).source.tolist() == ['kept', 'kept'] and t.calls == []

def test_session_clock_and_auto_accum_are_said(paddy, tmp_path, capsys):
    bag(FOUR[:1], paddy, tmp_path, trainer=FakeTrainer(), started=time.time() - 600)
    out = capsys.readouterr().out
    assert "paddy_road: accum='auto' for resnet10t at 32: 1 (" in out and 'predicted on a T4 (no GPU here))' in out
    assert 'bag: 10 min of this session gone (since ' in out and ' of its 690 min budget left.' in out
    with pytest.raises(ValueError, match=r"accum='Auto': it must be a whole number .*Or 'auto': each member's own"):
        bag(FOUR[:1], paddy, tmp_path, trainer=FakeTrainer(), accum='Auto')

def test_fastai_output_goes_to_each_member_log(paddy, tmp_path, capsys):
    "fastai's tables and warnings, here or in a worker, go to logs/<key>.log next to the member, not the notebook."
    from fastai.callback.progress import ProgressCallback
    from fastai.learner import defaults
    from fakes import ChattyTrainer
    for procs in (1, 2):
        out = tmp_path/f'p{procs}'
        bag(FOUR[:2], paddy, out, trainer=ChattyTrainer(), procs=procs)
        said = capsys.readouterr()
        assert 'epoch' not in said.out + said.err and 'a warning while training' not in said.out + said.err
        for m in FOUR[:2]:
            log = (out/'logs'/f'{m.name}.log').read_text()
            assert f'({m.name}; progress bars: False)' in log and f'a warning while training {m.name}' in log
    assert ProgressCallback in defaults.callbacks   # fastai as it was
