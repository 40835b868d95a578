"The ensemble's folder attacked: damaged, crafted, foreign member files; claims of every kind; a full disk; two bags."
import dataclasses, hashlib, json, os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from hypothesis import HealthCheck, given, settings, strategies as st
from paddy_road.core import FileRefused
from paddy_road.ensemble import Member, MemberRecord, MemberResult
from paddy_road.claims import CLAIM_STALE_S, CLAIM_YOUNG_S, _start_time
from paddy_road.store import Store, parse_member, read_member
from paddy_road.memberfile import _MAGIC
from paddy_road.bag import bag
from fakes import FakeTrainer, logged

FOUR = [Member('resnet10t', 32, s) for s in (40, 48, 56, 64)]
FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

@pytest.fixture(scope='module')
def real(paddy, tmp_path_factory) -> tuple:
    "A member file of a bag on the synthetic set (FakeTrainer's predictions), and the result it holds."
    out = tmp_path_factory.mktemp('real')
    bag(FOUR[:1], paddy, out, trainer=FakeTrainer())
    st_ = Store(out)
    return st_.member_file(FOUR[0].name), st_.read(FOUR[0].name)[0]

def _corrupt(data:bytes, how) -> bytes:
    kind, arg = how
    if kind == 'overwrite':
        b = bytearray(data)
        for pos, byte in arg: b[pos % len(b)] = byte
        return bytes(b)
    if kind == 'truncate': return data[:arg % len(data)]
    if kind == 'insert': return data[:arg[0] % len(data)] + arg[1] + data[arg[0] % len(data):]
    return data + arg

CORRUPTIONS = st.one_of(
    st.tuples(st.just('overwrite'),
              st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=6)),
    st.tuples(st.just('truncate'), st.integers(0, 2**20)),
    st.tuples(st.just('insert'), st.tuples(st.integers(0, 2**20), st.binary(min_size=1, max_size=40))),
    st.tuples(st.just('append'), st.binary(min_size=1, max_size=40)))

@FIXTURES
@given(how=CORRUPTIONS)
def test_damaged_member_is_refused_or_identical(real, tmp_path, how):
    "Any change to a real member file's bytes is refused with a reason; an unchanged file reads back identical."
    fn, want = real
    data = _corrupt(fn.read_bytes(), how)
    out = tmp_path/fn.name
    out.write_bytes(data)
    got, why = read_member(out)
    if data == fn.read_bytes(): assert (got, why) == (want, None)
    else: assert got is None and isinstance(why, str) and why, (how, why)

def test_every_bit_of_a_real_member(real, tmp_path):
    "Every single-bit flip of a real member's first and last 512 bytes (its header, record, and probabilities)."
    fn, want = real
    data = fn.read_bytes()
    positions = list(range(512)) + list(range(len(data) - 512, len(data)))
    reasons = set()
    for pos in positions:
        for bit in range(8):
            b = bytearray(data); b[pos] ^= 1 << bit
            (tmp_path/fn.name).write_bytes(bytes(b))
            got, why = read_member(tmp_path/fn.name)
            assert got is None and why, (pos, bit)
            reasons.add(why)
    assert reasons == {'not a paddy_road member file', 'checksum mismatch: damaged or edited since it was saved'}

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=12), st.lists(st.text(max_size=5), max_size=3))
TENSORS = st.one_of(
    st.builds(lambda n, m, v: torch.full((n, m), v), st.integers(0, 5), st.integers(0, 11),
              st.floats(allow_nan=True, allow_infinity=True, width=32)),
    st.builds(lambda n: torch.arange(n), st.integers(0, 6)),
    st.builds(lambda n: torch.zeros(n, dtype=torch.float16), st.integers(0, 6)))

def _crafted(r:MemberResult, record:dict, tensors:dict, names:dict) -> bytes:
    "A member file made elsewhere with a matching checksum: whatever it holds, it is well framed."
    from safetensors.torch import save
    meta = {k: json.dumps(v) for k, v in names.items()} | dict(record=json.dumps(record))
    body = save({k: v.contiguous() for k, v in tensors.items()}, metadata=meta)
    return _MAGIC + hashlib.sha256(body).hexdigest().encode() + b'\n' + body

@FIXTURES
@given(fields=st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(MemberRecord)] + ['extra']), VALUES,
                              max_size=3),
       tensors=st.dictionaries(st.sampled_from(['test_probs', 'valid_probs', 'valid_targets', 'other']), TENSORS,
                               max_size=2),
       names=st.dictionaries(st.sampled_from(['test_ids', 'vocab', 'valid_ids']), VALUES, max_size=2))
def test_crafted_member_never_raises(real, fields, tensors, names):
    "A file crafted with a matching checksum and any values: refused with a reason, or only sound values accepted."
    _, r = real
    record = dataclasses.asdict(r.record) | fields
    ts = dict(test_probs=r.test_probs, valid_probs=r.valid_probs, valid_targets=r.valid_targets) | tensors
    ns = dict(test_ids=r.test_ids, vocab=r.vocab, valid_ids=r.valid_ids) | names
    got, why = parse_member(_crafted(r, record, ts, ns))
    if got is None: assert isinstance(why, str) and why
    else:
        assert why is None and got.problem() is None and torch.isfinite(got.test_probs).all()
        assert 0 < got.record.weight < float('inf')

def _claim_json(host, pid, start, t) -> bytes: return json.dumps(dict(host=host, pid=pid, start=start, time=t)).encode()

CLAIMS = st.one_of(
    st.binary(max_size=80),
    st.builds(_claim_json, st.sampled_from([socket.gethostname(), 'kaggle-v1']), st.sampled_from([1, 2**22 + 7, -1, 0]),
              st.sampled_from([None, 'x', 'init']), st.floats(allow_nan=True, allow_infinity=True)),
    st.dictionaries(st.text(max_size=6), VALUES, max_size=4).map(lambda d: json.dumps(d).encode()))

@FIXTURES
@given(content=CLAIMS, age=st.floats(0, 2 * CLAIM_STALE_S))
def test_claims_never_block_forever(tmp_path, content, age):
    "Any claim file, of any age: `claim` never raises, and once old enough, only a live process on this host holds it."
    s = Store(tmp_path/f'c{time.monotonic_ns()}').create()
    fn = s.claim_file('k')
    live_here = content.replace(b'"init"', json.dumps(_start_time(1)).encode())   # pid 1's true start time
    fn.write_bytes(live_here)
    os.utime(fn, (time.time() - age,) * 2)
    c = s.claim('k')
    try:
        d = json.loads(live_here) if live_here[:1] == b'{' else None
    except ValueError: d = None
    alive_owner = (isinstance(d, dict) and d.get('host') == socket.gethostname() and d.get('pid') == 1
                   and d.get('start') in (None, _start_time(1)) and type(d.get('time')) in (int, float)
                   and 0 <= d['time'] < 2**32)                     # a claim written before 2106, not NaN
    if age > max(CLAIM_STALE_S, CLAIM_YOUNG_S) + 1: assert (c is None) == alive_owner, (live_here, age)
    if c is not None: c.release(); assert not fn.exists()

def test_fifo_in_resume_from_does_not_hang(paddy, tmp_path, capsys):
    v1 = tmp_path/'v1'; v1.mkdir()
    os.mkfifo(Store(v1).member_file(FOUR[0].name))          # named like a member: a reader would block forever
    def hung(*a): raise TimeoutError('bag hung on a FIFO')
    old = signal.signal(signal.SIGALRM, hung); signal.alarm(120)   # a hang fails the test, not the suite
    try: man = bag(FOUR[:1], paddy, tmp_path/'v2', trainer=FakeTrainer(), resume_from=v1)
    finally: signal.alarm(0); signal.signal(signal.SIGALRM, old)
    assert man.status.tolist() == ['ok'] and man.source.tolist() == ['trained']
    said = f"not resuming {Store(v1).member_file(FOUR[0].name)}: a FIFO (named pipe), not a regular file."
    assert said in capsys.readouterr().out

def test_symlink_out_of_the_folder_is_refused(paddy, tmp_path, capsys):
    out = tmp_path/'ens'
    bag(FOUR[:1], paddy, tmp_path/'elsewhere', trainer=FakeTrainer())
    out.mkdir(); Store(out).member_file(FOUR[0].name).symlink_to(Store(tmp_path/'elsewhere').member_file(FOUR[0].name))
    t = FakeTrainer()
    man = bag(FOUR[:1], paddy, out, trainer=t)
    assert t.calls == [FOUR[0].name] and man.source.tolist() == ['trained']
    assert f"a link to {tmp_path/'elsewhere'}" in capsys.readouterr().out

def test_sound_copy_replaces_damaged_and_stale_local_ones(paddy, tmp_path, capsys):
    v1, v2 = tmp_path/'v1', tmp_path/'v2'
    bag(FOUR[:2], paddy, v1, trainer=FakeTrainer())
    bag(FOUR[:1], paddy, v2, trainer=FakeTrainer(), epochs=5)                 # stale here: other settings
    shutil.copy(Store(v1).member_file(FOUR[1].name), v2)
    f = Store(v2).member_file(FOUR[1].name); f.write_bytes(f.read_bytes()[:-10])  # damaged here: cut short
    t = FakeTrainer()
    man = bag(FOUR[:2], paddy, v2, trainer=t, resume_from=[v1])
    assert t.calls == [] and man.source.tolist() == [f'resumed from {v1}'] * 2
    out = capsys.readouterr().out
    assert f"{Store(v2).member_file(FOUR[0].name)}: trained with epochs=5, not 12; replaced by" in out
    assert f"{f}: checksum mismatch: damaged or edited since it was saved; replaced by" in out
    assert f"bag: resumed 2 finished member(s) from {v1}." in out

@pytest.mark.parametrize('name', ['manifest.csv', 'run.json'])
def test_a_folder_where_the_bag_writes_a_file_is_one_line_before_any_member(paddy, tmp_path, name):
    "A folder named manifest.csv (or run.json) failed at the end with IsADirectoryError; now before any member."
    (tmp_path/'ens'/name).mkdir(parents=True)
    t = FakeTrainer()
    with pytest.raises(FileRefused) as e: bag(FOUR[:1], paddy, tmp_path/'ens', trainer=t)
    assert str(e.value) == (f"{tmp_path/'ens'/name}: not a file, and the ensemble writes its {Path(name).stem} there: "
                            "move it aside or delete it.")
    assert t.calls == []

def test_typo_in_resume_from_is_an_error(paddy, tmp_path):
    t = FakeTrainer()
    with pytest.raises(FileNotFoundError, match=f"resume_from: {tmp_path/'v1-typo'} does not exist or is not a folder"):
        bag(FOUR, paddy, tmp_path/'ens', trainer=t, resume_from=tmp_path/'v1-typo')
    assert t.calls == []

RUN_BAG = """
import json, sys
sys.path.insert(0, {tests!r})
from paddy_road.ensemble import Member
from paddy_road.bag import bag
from fakes import FakeTrainer
members = [Member('resnet10t', 32, s) for s in (40, 44, 48, 52, 56, 60)]
man = bag(members, {paddy!r}, {out!r}, trainer=FakeTrainer(log={log!r}, delay=1.5))
json.dump(man[['key', 'status', 'error']].to_dict('records'), open(sys.argv[1], 'w'))
"""

@pytest.mark.slow
def test_two_independent_bags_on_one_folder(paddy, tmp_path):
    "Two bags on one out_dir, neither knowing of the other: each member once, and each account names every member."
    script = tmp_path/'run_bag.py'
    script.write_text(RUN_BAG.format(tests=str(Path(__file__).parent), paddy=str(paddy), out=str(tmp_path/'ens'),
                                     log=str(tmp_path/'log')))
    env = os.environ | dict(OMP_NUM_THREADS='1')
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path/f'{i}.json')], env=env, stderr=subprocess.PIPE,
                              text=True) for i in (0, 1)]
    for p in procs: assert p.wait(timeout=600) == 0, p.stderr.read()[-3000:]
    trained = logged(tmp_path/'log')
    assert sorted(n for _, n in trained) == sorted(f'resnet10t-32-squish{s}x{s}' for s in (40, 44, 48, 52, 56, 60))
    pids = {pid for pid, _ in trained}
    for i in (0, 1):
        rows = json.load(open(tmp_path/f'{i}.json'))
        assert len(rows) == 6                                                # every member accounted for
        for r in rows:
            assert r['status'] == 'ok' or r['status'] == 'claimed' and r['error'].split()[1] in pids, r

FULL_DISK = """
import json, os, sys, traceback
sys.path.insert(0, {tests!r})
import paddy_road.bag as pb, paddy_road.bagwork as bw
from paddy_road.core import DiskFull
from paddy_road.ensemble import Member
from paddy_road.store import Store, average_members
from fakes import FakeTrainer
mnt, res, room = sys.argv[1], [], bw.check_room
members = [Member('resnet10t', 32, s) for s in (40, 48, 56)]
for i, (left, precheck) in enumerate({levels!r}):
    out = os.path.join(mnt, f'ens{{i}}')
    os.makedirs(out)
    filler = os.path.join(mnt, 'filler')
    st = os.statvfs(mnt); free = st.f_bfree * st.f_frsize
    with open(filler, 'wb') as f: f.write(b'x' * max(0, free - left))
    bw.check_room = room if precheck else (lambda *a: None)   # without it, the writes meet the full disk
    r = dict(left=left, precheck=precheck)
    try: pb.bag(members, {paddy!r}, out, trainer=FakeTrainer()); r['first'] = 'finished'
    except DiskFull as e: r['first'] = 'DiskFull: ' + str(e)
    except BaseException as e: r['first'] = 'OTHER: ' + ''.join(traceback.format_exception(e))[-1500:]
    os.remove(filler)
    man = pb.bag(members, {paddy!r}, out, trainer=FakeTrainer())
    r['second'] = man.status.tolist()
    r['left_over'] = sorted(n for n in os.listdir(out) if n.endswith(('.tmp', '.claim')) or n.startswith('.write'))
    r['sound'] = [Store(out).read(k)[1] is None for k in man.key]
    r['average'] = len(average_members(out).weights)
    res.append(r)
json.dump(res, open(sys.argv[2], 'w'))
"""

@pytest.mark.slow
def test_full_disk_is_one_message_and_nothing_partial_is_trusted(paddy, tmp_path):
    "A real full disk (a small tmpfs, in a mount namespace of its own), at fill levels from nothing left to plenty."
    if shutil.which('unshare') is None: pytest.skip('unshare is not installed: no private tmpfs for a full disk')
    probe = subprocess.run(['unshare', '-rm', 'sh', '-c', f'mount -t tmpfs -o size=1m tmpfs {tmp_path}'],
                           capture_output=True, text=True)
    if probe.returncode: pytest.skip(f'this machine gives no private tmpfs (unshare -rm: {probe.stderr.strip()})')
    levels = [(left, pre) for left in (0, 2_000, 12_000, 40_000, 400_000) for pre in (True, False)]
    script, mnt = tmp_path/'full.py', tmp_path/'mnt'
    mnt.mkdir()
    script.write_text(FULL_DISK.format(tests=str(Path(__file__).parent), paddy=str(paddy), levels=levels))
    r = subprocess.run(['unshare', '-rm', 'sh', '-c', f'mount -t tmpfs -o size=3m tmpfs {mnt} && '
                        f'{sys.executable} {script} {mnt} {tmp_path/"res.json"}'], capture_output=True, text=True,
                       timeout=600, env=os.environ | dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.load(open(tmp_path/"res.json"))
    print(json.dumps(res, indent=1))
    for x in res:
        first = x['first']
        assert first == 'finished' or first.startswith(f"DiskFull: no space left in {mnt}/ens"), x
        if first != 'finished': assert ' needs ' in first and ' are free. Free some space' in first, x
        assert x['second'] == ['ok'] * 3 and all(x['sound']) and x['average'] == 3 and x['left_over'] == [], x
    assert any(x['first'] != 'finished' for x in res) and any(x['first'] == 'finished' for x in res)
    assert any('needs' in x['first'] and '.member needs' not in x['first'] and 'member resnet10t' in x['first']
               for x in res if x['precheck'])               # refused before training, by the room check
