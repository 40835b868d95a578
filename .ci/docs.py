#!/usr/bin/env python3
"""The docs site, built offline from executed notebooks; and a check that their committed outputs are theirs.

  .ci/docs                  run every notebook in a fresh process (slow cells too; `cuda`, `notest` and `eval: false`
                            cells not), check each notebook's committed outputs against the fresh ones, build _docs/
  .ci/docs --tested DIR     the same, but a notebook that the README's `nbdev_test` ran and recorded in DIR (CI's
                            .ci/record.py) is checked against that run's outputs instead of being run again
  .ci/docs --write          rerun the notebooks whose inputs changed (it says which, and why) and write their fresh
                            outputs into nbs/*.ipynb and lessons/*.ipynb (commit them); `--write --all` reruns all
  .ci/docs --only 11_collab the same for some notebooks

The notebooks carry their outputs so that a reader on GitHub, Kaggle or Colab sees the tables and plots without running
anything. Outputs are normalised when they are written (progress bars dropped, temporary paths, host names, process ids,
clock times and fastai's epoch times replaced by placeholders) and every run starts from the same seeds, so a rerun
rewrites nothing. The check fails when a notebook's committed outputs were made by other code (each notebook records a
digest of what its outputs depend on: its code cells, the modules it reaches, the data files they name, the settings;
see .ci/provenance.py; a change to any of them needs `--write`), when a fresh run gives other outputs
(compared with numbers masked, since a machine may round otherwise), or when any cell raises.

The site: nbdev's processing of each executed notebook (directives, `show_doc` for every export, links), rendered to
HTML by nbconvert (Quarto can't be installed here), a page per notebook named as nbdev names it (`08d_bag` -> bag.html),
a landing page from index.ipynb and an API page listing every public name.

The lesson's own notebooks (lessons/*.ipynb) are run the same way, each in an empty temporary folder (they write a
submission and an ensemble folder where they run, as they would in /kaggle/working), and listed first in the site.
"""
import argparse, ast, configparser, difflib, html, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'.ci'))
from nbcells import directives, execute, runs as _runs   # noqa: E402 (the one way CI runs a notebook's cells)
from provenance import inputs, digest, why   # noqa: E402
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
NBS, SITE, WORK = root/cfg['DEFAULT']['nbs_path'], root/cfg['DEFAULT']['doc_path'], root/'_proc'/'site'
LESSONS = root/'lessons'
SKIP = set(cfg['DEFAULT']['tst_flags'].split()) - {'slow'}   # slow cells run: their outputs are worth showing
DOC_HOST = cfg['DEFAULT']['doc_host'] + cfg['DEFAULT']['doc_baseurl']

def page(stem:str) -> str:
    "A notebook's page, as nbdev names it: '08d_bag' -> 'bag.html'."
    return re.sub(r'^\d+[a-zA-Z0-9]*_', '', stem.lower()) + '.html'   # nbdev.doclinks._nbpath2html's rule

def runs(src:str) -> bool:
    "Whether the docs run executes this code cell (as nbdev_test with the slow flag does)."
    return _runs(src, SKIP)

def provenance(nb:dict) -> dict:
    "What a notebook's outputs depend on, each input's digest and the whole's (.ci/provenance.py)."
    ins = inputs(nb)
    return dict(outputs_from=digest(ins), inputs=ins)

def stale(fn:Path) -> str:
    "Why notebook `fn`'s committed outputs are not its present inputs' ('' when they are)."
    nb = json.loads(fn.read_text()); rec, now = nb['metadata'].get('paddy_road', {}), provenance(nb)
    return '' if rec.get('outputs_from') == now['outputs_from'] else why(rec.get('inputs', {}), now['inputs'])

# Outputs: what changes from run to run is replaced, what is noise is dropped.
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
_VOLATILE = [(re.compile(r'/tmp/(?:tmp\w+|pytest-of-\w+/pytest-\d+(?:/[\w.-]+)?)'), '/tmp/…'),
             (re.compile(r'\b\d\d:\d\d UTC\b'), 'hh:mm UTC'), (re.compile(r'\bpid \d+'), 'pid …'),
             (re.compile(r'(?m)^(\d+\s+[-\d.e]+\s+[-\d.e]+.*?)\s\d\d:\d\d\s*$'), r'\1 00:00'),   # fastai's epoch time
             (re.compile(r"('seconds': |seconds=)[\d.e+-]+"), r'\1…'),
             (re.compile(r'(?<![\w.])\d+\.\d+ ?s\b'), '… s'),
             (re.compile(r'\.[0-9a-f]{6}\.aside\b'), '.….aside'),   # a random name given to a folder moved aside
             (re.compile(r'\b\d+ s (ago|old)\b'), r'… s \1'),   # the ages of claims a test made
             (re.compile(r' at 0x[0-9a-f]+>'), ' at 0x…>')]   # an object's address in its repr

def _is_bar(line:str) -> bool: return bool(re.search(r'\|[█\-]*\|\s*\d+\.\d+%', line)) or (
    line.strip() != '' and set(line.strip()) <= {'█'})

def clean_text(t:str) -> str:
    "Text as a reader should see it: no terminal codes or progress bars, no paths, hosts or times of this run."
    lines = [l.rsplit('\r', 1)[-1] for l in _ANSI.sub('', t).split('\n')]   # a terminal shows what follows a \r
    t = '\n'.join(l for l in lines if not _is_bar(l))
    subs = [(re.compile(re.escape(os.environ.get('PADDY_ROAD_CACHE', '\0'))), '<cache>'),
            (re.compile(r'\b' + re.escape(os.uname().nodename) + r'\b'), '<host>')] + _VOLATILE
    for pat, rep in subs: t = pat.sub(rep, t)
    return re.sub(r'\n{3,}', '\n\n', t)

def clean_outputs(outs:list) -> list:
    "A cell's outputs, cleaned; progress bars (text or HTML) and emptied streams left out."
    res = []
    for o in outs:
        o = {k: v for k, v in dict(o).items() if k != 'execution_count'}
        if o['output_type'] == 'stream':
            o['text'] = clean_text(''.join(o['text']))
            if not o['text'].strip(): continue
        elif o['output_type'] in ('execute_result', 'display_data'):
            if any('<progress' in ''.join(v) for k, v in o['data'].items() if k == 'text/html'): continue
            o['data'] = {k: (clean_text(''.join(v)) if k.startswith('text/') else v) for k, v in o['data'].items()}
            if o['output_type'] == 'execute_result': o['execution_count'] = None
        res.append(o)
    return res

def masked(outs:list, varies:bool=False) -> list:
    """What two runs of the same code must agree on, whatever the machine: kinds of output, text with numbers masked.
    A cell marked `#| varies` shows what a model trained from scratch predicts, which another CPU's arithmetic can
    change (a label in a table): there only each text's first line (a table's header) and its number of lines count."""
    num = re.compile(r'[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?')
    def text(t):
        t = re.sub(r'[ \t]+', ' ', num.sub('#', t))   # a number's width moves a table's columns
        return f"{t.split(chr(10))[0]} ... ({t.count(chr(10))} lines)" if varies else t
    res = []
    for o in outs:
        if o['output_type'] == 'stream': res.append(('stream', text(''.join(o['text']))))
        elif o['output_type'] == 'error': res.append(('error', o.get('ename')))
        else: res.append((o['output_type'], tuple(sorted(o['data'])), text(''.join(o['data'].get('text/plain', '')))))
    return res

# One notebook, in a fresh process: run it, record its outputs, then nbdev's processing and nbconvert for its page.
def run_one(fn:Path) -> dict:
    from execnb.nbio import read_nb, nb2dict
    from execnb.shell import CaptureShell
    os.chdir(tempfile.mkdtemp() if fn.parent == LESSONS else fn.parent); t0 = time.time()
    nb = read_nb(fn)
    i, err = execute(nb.cells, CaptureShell(), SKIP)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = clean_outputs(c.outputs)
    what = ('' if err is None else f'{type(err).__name__}: {err}' if isinstance(err, BaseException) else
            f"error output: {err.get('ename')}: {err.get('evalue')}")
    error = None if i is None else f'cell {i}: {what[:500]}'
    return finish(fn, nb2dict(nb), error, time.time() - t0)

def finish(fn:Path, d:dict, error, seconds:float) -> dict:
    "An executed notebook saved with its provenance, and its page rendered."
    d['metadata']['paddy_road'] = provenance(json.loads(fn.read_text()))
    (WORK/'exec').mkdir(parents=True, exist_ok=True)
    (WORK/'exec'/fn.name).write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    res = dict(name=fn.stem, seconds=round(seconds), error=error, **heading(d))
    if not error:
        (WORK/'html').mkdir(parents=True, exist_ok=True); (WORK/'html'/f'{fn.stem}.html').write_text(render(d, fn))
    return res

def from_record(fn:Path, rec:Path) -> dict:
    "A notebook as the test run executed it (.ci/record.py's outputs by cell id), cleaned as a docs run cleans."
    r, d = json.loads(rec.read_text()), json.loads(fn.read_text())
    error = f"the test run failed: {r['exc']}" if r['exc'] else None
    for i, c in enumerate(d['cells']):
        if c['cell_type'] != 'code': continue
        c['outputs'] = clean_outputs(r['outputs'].get(c.get('id'), []))
        if not error and any(o['output_type'] == 'error' for o in c['outputs']): error = f'cell {i}: error output'
    return finish(fn, d, error, 0)

def imports(src:str) -> bool:
    "Whether a cell only imports (`from nbdev.showdoc import *`, say)."
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.startswith('#|')))
    except SyntaxError: return False
    return bool(tree.body) and all(isinstance(o, (ast.Import, ast.ImportFrom)) for o in tree.body)

def heading(d:dict) -> dict:
    "The title (`# ...`) and subtitle (`> ...`) of a notebook's first markdown cell."
    md = next((''.join(c['source']) for c in d['cells'] if c['cell_type'] == 'markdown'), '')
    title = next((l[2:].strip() for l in md.splitlines() if l.startswith('# ')), '')
    sub = next((l[2:].strip() for l in md.splitlines() if l.startswith('> ')), '')
    return dict(title=title, subtitle=sub)

def render(d:dict, fn:Path) -> str:
    "nbdev's processing of an executed notebook (hidden cells, show_doc of every export), as an HTML fragment."
    import nbformat
    from execnb.nbio import dict2nb, nb2dict
    from nbdev.processors import FilterDefaults
    from nbconvert import HTMLExporter
    d = json.loads(json.dumps(d))
    for c in d['cells']:   # show_doc needs the exports only; the tests have run, and their outputs are kept
        src = ''.join(c['source'])
        exported = set(directives(src)) & {'export', 'exports', 'exporti'}
        if c['cell_type'] == 'code' and not exported and not imports(src):
            c['source'] = '#| eval: false\n' + src
    nb = dict2nb(d)
    nb.path_ = str(fn)   # nbdev names the page after it
    FilterDefaults()(nb)
    for c in nb.cells:   # show_doc can fail too (a signature it can't print): that is an error, not a page
        text = json.dumps(c.get('outputs', []))
        if 'Traceback (most recent call last)' in text or '"output_type": "error"' in text: raise RuntimeError(
            f'{fn.name}: a cell of the processed notebook shows an error: {(c.source or "")[:200]}')
    node = nbformat.reads(json.dumps(nb2dict(nb)), as_version=4)
    node.cells = [c for c in node.cells if c.cell_type != 'raw']     # nbdev's frontmatter: the page header has it
    for c in node.cells:   # Quarto's cell options, as Quarto would apply them: `echo: false` hides the code
        if c.cell_type != 'code': continue
        d = directives(c.source)
        c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
        if d.get('echo', '').lower() == 'false' or re.fullmatch(r'show_doc\([^\n]*\)', c.source):
            c.metadata['transient'] = dict(remove_source=True)   # show_doc's call is not for the reader (nbconvert
            # reads cell.metadata.transient, as its TagRemovePreprocessor sets it)
    body, _ = HTMLExporter(template_name='basic', exclude_input_prompt=True,
                           exclude_output_prompt=True).from_notebook_node(node)
    return re.sub(r'\{target="_blank"[^}]*\}', '', body)   # a Quarto link attribute in show_doc's markdown

def in_process(fn:Path, env:dict) -> dict:
    r = subprocess.run([sys.executable, __file__, '--one', str(fn)], capture_output=True, text=True, env=env)
    try: return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError): return dict(name=fn.stem, seconds=0, error=f'the process died: {r.stderr[-2000:]}')

# The site: a page per notebook in a common frame, links made local, an API page.
CSS = '''body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2126;display:flex}
nav{width:230px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f5f7;padding:14px;
box-sizing:border-box;font-size:13.5px}
nav a{color:#24456b;text-decoration:none}nav .brand{font-weight:700;font-size:17px}nav ul{list-style:none;padding:0}
nav li{margin:5px 0}nav li.here a{font-weight:700}nav li.sec{margin-top:14px;color:#555;font-weight:600}
main{max-width:1000px;padding:10px 34px 60px;min-width:0}
.subtitle{color:#555;font-size:17px;margin-top:-8px}pre,code{font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}
.input_area pre{background:#f6f8fa;padding:8px 10px;border-radius:4px;overflow:auto}
.output_area pre{padding:4px 10px;overflow:auto;border-left:3px solid #dde}img{max-width:100%}
table.dataframe,.rendered_html table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}.anchor-link{display:none}
blockquote{color:#444;border-left:4px solid #ccd;margin-left:0;padding-left:12px}'''

PAGE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – paddy_road</title><style>{css}
{pyg}</style></head>
<body><nav><a class="brand" href="index.html">paddy_road</a><ul>
{nav}</ul></nav>
<main><header><h1 class="title">{title}</h1><p class="subtitle">{subtitle}</p></header>
{body}</main></body></html>
'''

def local_links(body:str) -> str:
    "Links made local: the online docs' own pages, and the notebooks (nbs/08d_bag.ipynb -> bag.html)."
    body, have = body.replace(f'href="{DOC_HOST}/', 'href="'), notebooks()
    def fix(m):   # checked against the notebooks that exist: '05_multitarget' is no page because 10_multitarget is
        if m[1] not in have: raise RuntimeError(f'a link to {m[1]}.ipynb, a notebook that does not exist')
        return f'href="{page(m[1])}{m[2] or ""}"'
    return re.sub(r'href="(?:\.\./)?(?:nbs/|lessons/)?([\w.-]+)\.ipynb(#[^"]*)?"', fix, body)

def _slug(text:str) -> str:
    "Pandoc's (and so Quarto's) id for a heading: lower case, punctuation dropped, spaces as hyphens."
    return re.sub(r'\s+', '-', re.sub(r'[^\w\s.-]', '', text.lower()).strip())

def anchors(body:str) -> str:
    "Each heading also under the ids Quarto would give it: nbdev's links (`ensemble.html#member`) and prose use them."
    def add(m):
        i, title = html.unescape(m[2]), html.unescape(re.sub(r'<[^>]+>', '', m[3]).rstrip('¶'))
        alias = dict.fromkeys(o for o in (i.lower(), _slug(title)) if o and o != i)
        return m[0] + ''.join(f'<a id="{html.escape(o)}"></a>' for o in alias)
    return re.sub(r'<h([1-6]) id="([^"]+)">(.*?)(?=<a class="anchor-link"|</h\1>)', add, body)

def fix_fragments(site:Path):
    "A link to a name with no entry of its own (a private function, a method) goes to its class, else to the page."
    ids = {f.name: set(re.findall(r'\bid="([^"]+)"', f.read_text())) for f in site.glob('*.html')}
    def fix(m):
        target, frag = m[1] or '', m[2]
        have = ids.get(target or '', set()) if target else None
        if have is None or html.unescape(frag) in have: return m[0]
        while '.' in frag and (frag := frag.rsplit('.', 1)[0]) not in have: pass
        return f'href="{target}' + (f'#{frag}"' if frag in have else '"')
    for f in site.glob('*.html'):
        f.write_text(re.sub(r'href="([\w.-]+\.html)#([^"]+)"', fix, f.read_text()))

def api_page(pages:dict) -> str:
    "Every public name of every module: what it is, its first line of documentation, and where it is documented."
    import importlib, inspect
    from paddy_road._modidx import d as modidx
    syms = {k: v[0] for m in modidx['syms'].values() for k, v in m.items()}
    rows, stems = [], {page(s)[:-5]: s for s in pages}
    for mod_name in importlib.import_module('paddy_road.all').MODULES:
        mod = importlib.import_module(f'paddy_road.{mod_name}')
        if mod_name not in stems: continue
        rows.append(f'<h2 id="{mod_name}"><a href="{mod_name}.html">paddy_road.{mod_name}</a></h2>'
                    f'<p>{html.escape(pages[stems[mod_name]]["subtitle"])}</p><table>')
        for n in mod.__all__:
            o = getattr(mod, n)
            kind = 'class' if inspect.isclass(o) else 'function' if callable(o) else type(o).__name__
            doc = (inspect.getdoc(o) or '').split('\n')[0] if kind in ('class', 'function') else ''
            link = syms.get(f'paddy_road.{mod_name}.{n}', f'{mod_name}.html')
            rows.append(f'<tr><td style="text-align:left"><a href="{link}"><code>{html.escape(n)}</code></a></td>'
                        f'<td style="text-align:left">{kind}</td>'
                        f'<td style="text-align:left">{html.escape(doc)}</td></tr>')
        rows.append('</table>')
    return '\n'.join(rows)

def build_site(results:list):
    "Write _docs/: a page per notebook that ran without error, the API page, the landing page."
    from pygments.formatters import HtmlFormatter
    pyg = HtmlFormatter().get_style_defs('.highlight')
    pages = {r['name']: r for r in results if not r['error']}
    shutil.rmtree(SITE, ignore_errors=True); SITE.mkdir(parents=True)
    lessons = {f.stem for f in LESSONS.glob('*.ipynb')}
    order = sorted(pages, key=lambda s: (s != 'index', s not in lessons, s))
    def nav(here):
        items = [(page(s), 'Home' if s == 'index' else f"{s.split('_')[0]} {pages[s]['title']}") for s in order]
        items.insert(1, ('api.html', 'API: every public name'))
        n = 2 + sum(s in lessons for s in order)   # the lesson's notebooks, then the library's
        items[2:2], items[n + 1:n + 1] = [(None, "The lesson's notebooks")], [(None, 'The library, module by module')]
        return '\n'.join(f'<li class="sec">{html.escape(t)}</li>' if u is None else
                         f'<li{" class=here" if u == here else ""}><a href="{u}">{html.escape(t)}</a></li>'
                         for u, t in items)
    for s in order:
        body = anchors(local_links((WORK/'html'/f'{s}.html').read_text()))
        (SITE/page(s)).write_text(PAGE.format(title=html.escape(pages[s]['title']), css=CSS, pyg=pyg, nav=nav(page(s)),
                                              subtitle=html.escape(pages[s]['subtitle']), body=body))
    (SITE/'api.html').write_text(PAGE.format(title='API', subtitle='Every public name of every module, and where it '
                                             'is documented.', css=CSS, pyg=pyg, nav=nav('api.html'),
                                             body=api_page(pages)))
    fix_fragments(SITE)

# Checking the committed outputs, or writing the fresh ones.
def notebooks() -> dict:
    "Every notebook the docs run, name -> path: the lesson's own notebooks, then the library's."
    return {f.stem: f for d in (LESSONS, NBS) for f in sorted(d.glob('*.ipynb')) if not f.name.startswith('_')}

def compare(name:str) -> list:
    "How the committed outputs of notebook `name` differ from the fresh run's (empty: they don't)."
    fn = notebooks()[name]
    old, new = json.loads(fn.read_text()), json.loads((WORK/'exec'/f'{name}.ipynb').read_text())
    probs = []
    if reason := stale(fn): probs.append(f'its outputs were made by other code ({reason}): run .ci/docs --write')
    cells = {c['id']: c for c in old['cells'] if c['cell_type'] == 'code'}
    for i, c in enumerate(new['cells']):
        if c['cell_type'] != 'code': continue
        varies = 'varies' in directives(''.join(c['source']))
        a, b = masked(cells.get(c['id'], {}).get('outputs', []), varies), masked(c['outputs'], varies)
        if a != b:
            diff = '\n'.join(difflib.unified_diff(str(a).split('\\n'), str(b).split('\\n'), 'committed', 'fresh', n=0))
            probs.append(f'cell {i} ({c["id"]}) shows other outputs than a fresh run:\n{diff[:1500]}')
    return probs

def write(name:str):
    "The fresh outputs into the notebook, cell by cell, with the digest of the code that made them."
    fn = notebooks()[name]
    old, new = json.loads(fn.read_text()), json.loads((WORK/'exec'/f'{name}.ipynb').read_text())
    outs = {c['id']: c['outputs'] for c in new['cells'] if c['cell_type'] == 'code'}
    for c in old['cells']:
        if c['cell_type'] == 'code': c['outputs'], c['execution_count'] = outs.get(c['id'], []), None
    old['metadata']['paddy_road'] = new['metadata']['paddy_road']
    fn.write_text(json.dumps(old, indent=1, ensure_ascii=False) + '\n')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--write', action='store_true', help='rerun changed notebooks, write outputs')
    ap.add_argument('--all', action='store_true', help='with --write: rerun every notebook, changed or not')
    ap.add_argument('--only', nargs='*', default=None, help='notebook names (default: all)')
    ap.add_argument('--tested', help="a folder of .ci/record.py's recordings: those notebooks are not run again")
    ap.add_argument('--site-only', action='store_true', help="rebuild _docs/ from the last run's pages")
    ap.add_argument('--n_workers', type=int, default=2); ap.add_argument('--one', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: print('\n' + json.dumps(run_one(Path(a.one)))); return
    if a.site_only:   # the last run's executed notebooks, rendered again
        os.chdir(NBS); results = []
        for f in sorted((WORK/'html').glob('*.html')):
            d = json.loads((WORK/'exec'/f'{f.stem}.ipynb').read_text())
            f.write_text(render(d, notebooks()[f.stem])); results.append(dict(name=f.stem, error=None, **heading(d)))
        build_site(results); return
    t0, fns = time.time(), list(notebooks().values())
    if a.only: fns = [f for f in fns if f.stem in a.only or f.name in a.only]
    if bad := set(a.only or []) - {f.stem for f in fns} - {f.name for f in fns}:
        sys.exit(f'docs: error: --only {" ".join(sorted(bad))}: no such notebook in nbs/ or lessons/')
    shutil.rmtree(WORK, ignore_errors=True)
    kept = []   # --write: the notebooks whose committed outputs are still their inputs' are shown as committed
    if a.write and not a.all:
        reasons = {f: r for f in fns if (r := stale(f))}
        for f, r in reasons.items(): print(f'docs: rerunning {f.stem}: {r}')
        kept, fns = [f for f in fns if f not in reasons], list(reasons)
        print(f'docs: {len(fns)} notebook(s) to rerun, {len(kept)} unchanged')
    tested = Path(a.tested) if a.tested else None
    recorded = [f for f in fns if tested and (tested/f'{f.stem}.json').is_file()]
    fns = [f for f in fns if f not in recorded]
    if tested: print(f'docs: {len(recorded)} notebook(s) checked from the test run in {tested}, {len(fns)} run here')
    hidden = ('PADDY_PATH', 'MOVIELENS_PATH', 'KAGGLE_USERNAME', 'KAGGLE_KEY', 'KAGGLE_API_TOKEN', 'MPLBACKEND',
              'KAGGLE_KERNEL_RUN_TYPE', 'PADDY_KAGGLE_ROOT')   # the docs show a run off Kaggle
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in hidden} | dict(
            OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', PYTHONHASHSEED='0', PADDY_ROAD_CACHE=f'{tmp}/cache',
            KAGGLE_CONFIG_DIR=f'{tmp}/no-kaggle', PYTHONWARNINGS='ignore')
        with ThreadPoolExecutor(a.n_workers) as ex: results = list(ex.map(lambda f: in_process(f, env), fns))
    results += [from_record(f, tested/f'{f.stem}.json') for f in recorded]
    shown = [finish(f, json.loads(f.read_text()), None, 0) for f in kept]
    failed = [r for r in results if r['error']]
    for r in sorted(results, key=lambda r: -r['seconds']):
        print(f"{r['name']}: {r['seconds']} s" + (' FAILED' if r['error'] else ''))
    if a.write and len(failed) < len(results):   # each notebook's outputs are its own: keep those that ran cleanly
        for r in results:
            if not r['error']: write(r['name'])
        for args in ([], ['--fname', str(LESSONS)]):   # as committed
            subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), *args], cwd=root, check=True)
    problems = {r['name']: [r['error']] for r in failed}
    if not a.write: problems |= {r['name']: p for r in results if not r['error'] and (p := compare(r['name']))}
    build_site(results + shown)
    print(f'docs: {len(list(SITE.glob("*.html")))} pages in {SITE} ({time.time() - t0:.0f} s)')
    for name, ps in problems.items():
        for p in ps: print(f'docs: {notebooks()[name].relative_to(root)}: {p}', file=sys.stderr)
    if problems:
        print("docs: a notebook's outputs aren't its code's: run .ci/docs --write (and commit), or fix the error.",
              file=sys.stderr)
        sys.exit(1)

if __name__ == '__main__': main()
