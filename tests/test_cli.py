"Console scripts, run as a user runs them: in a subprocess."
import subprocess
import pandas as pd, pytest
from conftest import script

def run(args, env, **kw):
    return subprocess.run([script(args[0])] + args[1:], env=env, capture_output=True, text=True, timeout=600, **kw)

@pytest.mark.parametrize('name', ['paddy_demo', 'paddy_synth', 'paddy_check'])
def test_help(name, cli_env):
    r = run([name, '--help'], cli_env)
    assert r.returncode == 0 and f'usage: {name}' in r.stdout

def test_check_good(paddy, cli_env):
    r = run(['paddy_check', '--path', str(paddy)], cli_env)
    assert r.returncode == 0, r.stderr
    assert 'is fine' in r.stdout and 'labels' in r.stdout

def test_check_bad(paddy_copy, cli_env):
    (paddy_copy/'train.csv').unlink()
    r = run(['paddy_check', '--path', str(paddy_copy)], cli_env)
    assert r.returncode == 1
    assert r.stderr.startswith('paddy_check: error:') and str(paddy_copy/'train.csv') in r.stderr

def test_check_missing_path(tmp_path, cli_env):
    r = run(['paddy_check', '--path', str(tmp_path/'nowhere')], cli_env)
    assert r.returncode == 1 and 'does not exist' in r.stderr

def test_synth(tmp_path, cli_env):
    args = ['--scale', '0.01', '--floor', '4', '--width', '30', '--height', '40']
    r = run(['paddy_synth', str(tmp_path/'s')] + args, cli_env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'s'/'train.csv').exists() and 'wrote' in r.stdout
    r = run(['paddy_synth', str(tmp_path/'s')], cli_env)  # never writes over a set
    assert r.returncode == 1 and 'not empty' in r.stderr

def test_demo_short(paddy, tmp_path, cli_env):
    args = ['--stages', 'train', '--epochs', '1', '--size', '32', '--item', '48', '--out', str(tmp_path/'o')]
    r = run(['paddy_demo', '--path', str(paddy)] + args, cli_env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'paddy_demo summary' in r.stdout and 'the path you passed' in r.stdout
    sub, ss = pd.read_csv(tmp_path/'o'/'submission.csv'), pd.read_csv(paddy/'sample_submission.csv')
    assert list(sub.image_id) == list(ss.image_id)

@pytest.mark.slow
def test_demo_default_data(tmp_path, cli_env):
    "With no data anywhere, the demo makes the embedded synthetic set and says so."
    r = run(['paddy_demo', '--epochs', '1', '--size', '32', '--item', '48', '--out', 'o'], cli_env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'the embedded synthetic set' in r.stdout and 'random init' in r.stdout
    assert 'multi-target: disease error' in r.stdout
    assert 'to fit a T4 (15102 MiB)' in r.stdout  # the memory stage plans for Kaggle's card when there is no GPU
    assert 'collab      : DotProductBias on synthetic ratings' in r.stdout
    assert len(pd.read_csv(tmp_path/'o'/'submission.csv')) == 173
    assert 'ensemble    : 2 members, TTA' in r.stdout  # the training stage's model is its first member, trained once
    again = ['--stages', 'train,ensemble', '--epochs', '1', '--size', '32', '--item', '48', '--out', 'o']
    r = run(['paddy_demo'] + again, cli_env, cwd=tmp_path)  # a rerun with the same settings keeps both, and says so
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'finished by an earlier run, kept' in r.stdout and '2 members (2 kept from an earlier run)' in r.stdout

def test_demo_memory_for_the_lessons_card(paddy, cli_env):
    "On the lesson's P100 the lesson's picks (accum 2 for the large models); an unknown card is a clear error."
    r = run(['paddy_demo', '--path', str(paddy), '--stages', 'memory', '--gpu', 'P100'], cli_env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'to fit a P100 (16280 MiB)' in r.stdout and r.stdout.count(': accum 2 (') == 5, r.stdout
    r = run(['paddy_demo', '--path', str(paddy), '--stages', 'memory', '--gpu', 'V100'], cli_env)
    assert r.returncode == 2 and "paddy_demo: usage error: gpu='V100': not a card paddy_road knows" in r.stderr

def test_demo_bad_stage(paddy, cli_env):
    r = run(['paddy_demo', '--path', str(paddy), '--stages', 'fly'], cli_env)
    said = ("paddy_demo: usage error: --stages='fly': the stages are memory,train,ensemble,multitarget,collab, "
            "comma-separated. (see paddy_demo --help)\n")
    assert r.returncode == 2 and r.stderr == said

def test_demo_pretrained_unavailable(paddy, cli_env):
    r = run(['paddy_demo', '--path', str(paddy), '--pretrained', 'yes', '--stages', 'train'], cli_env)
    assert r.returncode == 1 and r.stderr.count('\n') == 1, r.stderr
    assert 'paddy_demo: error: pretrained weights for resnet10t are not in the cache' in r.stderr
    assert 'pass pretrained=False to train from random weights' in r.stderr and 'Traceback' not in r.stderr
