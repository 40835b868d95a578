#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb, as `nbdev_readme` would (that needs Quarto, which this machine lacks).

Markdown cells are copied, code cells become ```python blocks without their `#|` directive lines, cells marked
`#| hide` are left out, and stored text outputs are shown as plain blocks. CI runs it and fails if README.md changes.
"""
import json, sys
from configparser import ConfigParser
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbcells import directives   # noqa: E402 (CI's one reading of nbdev's `#|` lines)

root = Path(__file__).resolve().parent.parent
cfg = ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
nb = json.loads((root/cfg['DEFAULT']['nbs_path']/cfg['DEFAULT'].get('readme_nb', 'index.ipynb')).read_text())

def src(c): return ''.join(c['source'])

out = []
for c in nb['cells']:
    s = src(c)
    if c['cell_type'] == 'markdown': out.append(s.strip()); continue
    if {'hide', 'exporti'} & set(directives(s)): continue
    code = '\n'.join(l for l in s.splitlines() if not l.startswith('#|')).strip()
    if code: out.append(f'```python\n{code}\n```')
    for o in c.get('outputs', []):
        text = o.get('text') or o.get('data', {}).get('text/plain')
        if text: out.append('    ' + ''.join(text).rstrip().replace('\n', '\n    '))
(root/'README.md').write_text('\n\n'.join(out) + '\n')
