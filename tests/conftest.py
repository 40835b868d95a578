"Shared fixtures: one synthetic Paddy set per session, and broken copies of it."
import os, shutil, sys
from pathlib import Path
import pytest
from hypothesis import settings
from paddy_road.synth import synth_paddy

# Generated cases (Hypothesis): a quick profile for CI, `HYPOTHESIS_PROFILE=slow` for many more examples.
settings.register_profile('quick', max_examples=100, deadline=None)
settings.register_profile('slow', max_examples=1000, deadline=None)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'quick'))
# Tests run as off Kaggle, even in a Kaggle notebook, unless a test sets Kaggle's variable itself (test_kaggle.py).
for k in ('KAGGLE_KERNEL_RUN_TYPE', 'PADDY_KAGGLE_ROOT'): os.environ.pop(k, None)

@pytest.fixture(scope='session')
def paddy(tmp_path_factory) -> Path:
    "A small synthetic Paddy set, made once; tests must not modify it (use `paddy_copy`)."
    return synth_paddy(tmp_path_factory.mktemp('paddy')/'set', scale=0.02, floor=8, size=(60, 80))

@pytest.fixture
def paddy_copy(paddy, tmp_path) -> Path:
    "A private copy of the synthetic set, to break."
    return Path(shutil.copytree(paddy, tmp_path/'copy'))

@pytest.fixture
def cli_env(tmp_path) -> dict:
    "Environment for console-script subprocesses: a private cache, no real data, no Kaggle."
    hidden = ('PADDY_PATH', 'MOVIELENS_PATH', 'KAGGLE_USERNAME', 'KAGGLE_KEY', 'KAGGLE_API_TOKEN',
              'KAGGLE_KERNEL_RUN_TYPE', 'PADDY_KAGGLE_ROOT')
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(PADDY_ROAD_CACHE=str(tmp_path/'cache'), KAGGLE_CONFIG_DIR=str(tmp_path/'no-kaggle'), HF_HUB_OFFLINE='1')
    return env

def script(name) -> str:
    "Path of an installed console script, next to the running Python."
    p = Path(sys.executable).parent/name
    return str(p) if p.exists() else name
