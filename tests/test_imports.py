"""The package's imports go one way: each module imports only modules above it in ARCHITECTURE.md's table, lazy imports
(inside a function) and string imports (`importlib.import_module('paddy_road.x')`, `__import__`) counted too."""
import ast, re
from pathlib import Path
import pytest
from paddy_road.all import MODULES

PKG = Path(__file__).parent.parent/'paddy_road'

def imported(fn:Path) -> set:
    "Every paddy_road module `fn` imports, however it imports it."
    out, tree = set(), ast.parse(fn.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level: out.add(mod.split('.')[0] if mod else None)   # `from . import x` names no module: refused
            elif mod.startswith('paddy_road.'): out.add(mod.split('.')[1])
            elif mod == 'paddy_road': out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split('.')[1] for a in node.names if a.name.startswith('paddy_road.'))
        elif isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', None)) in (
                'import_module', '__import__', 'run_module', 'find_spec'):
            arg = node.args[0] if node.args else None
            text = (arg.value if isinstance(arg, ast.Constant) else ''.join(
                v.value for v in arg.values if isinstance(v, ast.Constant)) if isinstance(arg, ast.JoinedStr) else '')
            if isinstance(text, str) and (m := re.match(r'paddy_road\.(\w+)', text)): out.add(m.group(1))
    return out

def test_the_table_is_the_order():
    table = re.findall(r'^\| \w+ \| (\w+) \|', (PKG.parent/'ARCHITECTURE.md').read_text(), re.M)
    assert table == ['module'] + list(MODULES) + ['all']   # its header, then every module

@pytest.mark.parametrize('mod', MODULES)
def test_imports_only_from_above(mod):
    above = set(MODULES[:MODULES.index(mod)])
    assert None not in (got := imported(PKG/f'{mod}.py')), f'{mod}: `from . import` names no module'
    assert sorted(got - above - {mod}) == [], f'{mod} imports from below'   # itself by name: launch's spawn target

def test_the_check_sees_every_kind_of_import(tmp_path):
    "A test that can fail: each way of importing is seen."
    fn = tmp_path/'m.py'
    fn.write_text("from .gpu import probe\nimport paddy_road.bag\nfrom paddy_road import cli\n"
                  "def f():\n    from paddy_road.train import train\n    import importlib\n"
                  "    importlib.import_module('paddy_road.memtrace'); __import__('paddy_road.store')\n"
                  "    importlib.import_module(f'paddy_road.plan')\n")
    assert imported(fn) == {'gpu', 'bag', 'cli', 'train', 'memtrace', 'store', 'plan'}

def privates_taken(fn:Path) -> list:
    "The private names (`_x`) `fn` imports from another paddy_road module: what crosses between modules is public."
    tree = ast.parse(fn.read_text())
    return [f'{n.module}.{a.name}' for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
            and (n.level or (n.module or '').startswith('paddy_road')) for a in n.names if a.name.startswith('_')]

@pytest.mark.parametrize('mod', MODULES)
def test_no_private_name_crosses(mod):
    assert privates_taken(PKG/f'{mod}.py') == []

def test_a_private_crossing_is_seen(tmp_path):
    fn = tmp_path/'m.py'
    fn.write_text("from .memtrace import _key_for, pick_accum\nfrom .claims import claim as _claim\n")
    assert privates_taken(fn) == ['memtrace._key_for']
