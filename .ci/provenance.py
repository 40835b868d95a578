"""What a notebook's outputs depend on, file by file: its own code cells, the library's modules it reaches (followed
through the library's own imports, lazy ones included), the data files those modules or its cells name, the settings.

A change anywhere else leaves the notebook's digest as it was, so `.ci/docs --write` reruns only the notebooks that a
change can reach: a one-line fix in `lazyadam.py` reruns 11a_lazyadam, 12_fastcollab, 13_cli, 14_all and the lessons
(they import `paddy_road.all`), not 09_xent. Each notebook records every input's digest beside the combined one, so a
stale notebook says which inputs moved.
"""
import hashlib, json, re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
LIB = root/'paddy_road'
DATA_DIRS = (LIB, root/'bench'/'results')   # data a module or a notebook reads by name
_MOD = re.compile(r'\bpaddy_road\.(\w+)|from\s+\.(\w+)\s+import|from\s+paddy_road\s+import\s+([\w ,()]+)')

def _sha(b:bytes) -> str: return hashlib.sha256(b).hexdigest()[:12]

def console_scripts() -> dict:
    "Console script name -> module, from settings.ini (a cell that runs `!paddy_demo` reaches `cli`)."
    import configparser
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
    pairs = (o.split('=') for o in cfg['DEFAULT']['console_scripts'].split())
    return {k: v.split(':')[0].split('.')[-1] for k, v in pairs}

def modules_named(text:str, scripts=False) -> set:
    "The library's modules code names: `paddy_road.x`, `from .x import`, `from paddy_road import x`, console scripts."
    mods = set()
    for a, b, c in _MOD.findall(text):
        mods |= {a} if a else {b} if b else {o.strip('() ') for o in c.split(',')}
    if scripts: mods |= {m for s, m in console_scripts().items() if re.search(rf'(?:^\s*!|[\'"]){s}\b', text, re.M)}
    if re.search(r'^\s*(import|from)\s+paddy_road\b', text, re.M): mods.add('__init__')
    if t := re.search(r'^MODULES = \(([^)]*)\)', text, re.M): mods |= set(re.findall(r"'(\w+)'", t[1]))  # all.py's
    return {m for m in mods if (LIB/f'{m}.py').is_file()}

def reach(text:str) -> list:
    "Every module reachable from code `text`, through the modules' own imports."
    todo, seen = modules_named(text, scripts=True), set()
    while todo:
        m = todo.pop(); seen.add(m)
        todo |= modules_named((LIB/f'{m}.py').read_text()) - seen
    return sorted(seen)

def code_cells(nb:dict) -> str: return '\0'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code')

def inputs(nb:dict) -> dict:
    "Each input of a notebook's outputs -> its digest: 'cells', the modules it reaches, data files named, settings."
    code = code_cells(nb)
    mods = reach(code)
    texts = code + ''.join((LIB/f'{m}.py').read_text() for m in mods)
    data = [f for d in DATA_DIRS for f in sorted(d.glob('*')) if f.is_file() and f.suffix not in ('.py', '.pyc')
            and re.search(r'\b' + re.escape(f.name) + r'\b', texts)]
    res = {'cells': _sha(code.encode())}
    for f in [LIB/f'{m}.py' for m in mods] + data + [root/'settings.ini']:
        res[str(f.relative_to(root))] = _sha(f.read_bytes())
    return res

def digest(ins:dict) -> str: return _sha(json.dumps(ins, sort_keys=True).encode()) + 'd2'   # 'd2': per-notebook

def why(old:dict, new:dict) -> str:
    "Which inputs moved between a notebook's recorded inputs and its present ones, in a few words."
    if not old: return 'it records no inputs (made before inputs were recorded)'
    moved = [k for k in new if k in old and old[k] != new[k]]
    added, gone = [k for k in new if k not in old], [k for k in old if k not in new]
    parts = [f"{', '.join(moved)} changed"] if moved else []
    parts += [f"it now reaches {', '.join(added)}"] if added else []
    parts += [f"it no longer reaches {', '.join(gone)}"] if gone else []
    return '; '.join(parts).replace('cells changed', 'its code cells changed') or 'nothing moved'
