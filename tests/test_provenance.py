"What a notebook's committed outputs depend on (.ci/provenance.py): its inputs only, and every notebook up to date."
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'.ci'))
from provenance import digest, inputs, why   # noqa: E402

def nb(name:str) -> dict: return json.loads(next(ROOT.glob(f'*/{name}.ipynb')).read_text())

def test_a_notebook_depends_on_the_modules_it_reaches_and_nothing_else():
    xent, fast = inputs(nb('09_xent')), inputs(nb('12_fastcollab'))
    assert sorted(xent) == ['cells', 'settings.ini']   # its own cross-entropy, no module of ours
    assert {'paddy_road/lazyadam.py', 'paddy_road/collab.py', 'paddy_road/core.py'} <= set(fast)
    assert {'bench/results/collab_ml100k.json', 'bench/results/collab_scale.json'} <= set(fast)   # data it reads
    assert 'paddy_road/bag.py' not in fast and 'paddy_road/lazyadam.py' not in xent
    lesson = inputs(nb('1_road_to_the_top_part_3'))   # `from paddy_road.all import *`: every module
    assert {f'paddy_road/{p.name}' for p in (ROOT/'paddy_road').glob('*.py') if p.name != '_modidx.py'} <= set(lesson)

def test_a_change_says_which_input_moved():
    old = {'cells': 'a', 'paddy_road/core.py': 'b', 'settings.ini': 'c'}
    new = old | {'paddy_road/core.py': 'x', 'paddy_road/recover.py': 'y'}
    assert why(old, new) == 'paddy_road/core.py changed; it now reaches paddy_road/recover.py'
    assert why(old, old | {'cells': 'z'}) == 'its code cells changed'
    assert digest(old) != digest(new) and digest(old) == digest(dict(reversed(old.items())))

def test_every_notebook_s_outputs_are_its_present_inputs():
    "Each notebook's committed digest is its inputs' now: a change that reaches it was followed by .ci/docs --write."
    stale = {}
    for f in sorted((ROOT/'nbs').glob('[!_]*.ipynb')) + sorted((ROOT/'lessons').glob('*.ipynb')):
        d = json.loads(f.read_text()); rec, now = d['metadata'].get('paddy_road', {}), inputs(d)
        if rec.get('outputs_from') != digest(now): stale[f.name] = why(rec.get('inputs', {}), now)
    assert not stale, stale
