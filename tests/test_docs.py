"The docs site in a real browser (headless Chromium): each page renders, its figures load, no traceback, links resolve."
import html.parser, os
from pathlib import Path
from urllib.parse import unquote, urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get('PADDY_DOCS') or ROOT/'_docs')
CHROMIUM = os.environ.get('PADDY_CHROMIUM', '/usr/bin/chromium')
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']
PAGES = sorted(p.name for p in SITE.glob('*.html')) if SITE.is_dir() else []
SHOTS = {  # screenshot: (page, the text of the first thing in it, the text of the cell it ends with)
    'collab-pca.png': ('collab.html', 'pca_plot(learn.model', 'pca_plot(learn.model'),
    'memplan-cards.png': ('memplan.html', 'table = card_table()', 'plot_card_table(table)'),
    'plan-two-t4.png': ('plan.html', 'lesson_mins = published_minutes(lesson_members()', 'plot_plan(two_t4)'),
    'lesson-part-3-sweep.png': ('road_to_the_top_part_3.html', 'sweep = accum_sweep(', 'plot_card_table(card_table('),
}

def _ready():
    "Skip (or, where CI says the site must be there, fail) when the site or the browser is missing."
    try: import playwright   # noqa: F401 (the dev extra has it; a plain install doesn't)
    except ImportError: playwright = None
    why = (f'no docs site in {SITE}: build it with .ci/docs' if not (SITE/'index.html').exists() else
           f'no Chromium at {CHROMIUM}: apt-get install chromium' if not Path(CHROMIUM).exists() else
           'no playwright here: pip install -e ".[dev]"' if playwright is None else None)
    if why and os.environ.get('PADDY_DOCS_REQUIRED'): pytest.fail(why)
    if why: pytest.skip(why)

@pytest.fixture(scope='module')
def browser():
    _ready()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()

class _Ids(html.parser.HTMLParser):
    def __init__(self): super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs): self.ids.update(v for k, v in attrs if k in ('id', 'name') and v)

def ids(name:str) -> set:
    p = _Ids(); p.feed((SITE/name).read_text()); return p.ids

def test_notebook_links_resolve():
    """Every link to a notebook in the notebooks' prose names one that exists (the site's page names drop the number,
    so a link to '05_multitarget.ipynb' would reach multitarget.html though 05_multitarget is not a notebook)."""
    import json, re
    have = {f.name for d in ('nbs', 'lessons') for f in (ROOT/d).glob('*.ipynb')}
    link = re.compile(r'\]\((?:\.\./)?(?:nbs/|lessons/)?([\w.-]+\.ipynb)')
    bad = [(f.name, m) for d in ('nbs', 'lessons') for f in sorted((ROOT/d).glob('*.ipynb'))
           for c in json.loads(f.read_text())['cells'] if c['cell_type'] == 'markdown'
           for m in link.findall(''.join(c['source'])) if m not in have]
    assert not bad, bad

def test_every_notebook_has_a_page():
    "Every notebook (the library's, the lesson's) has its page; the lesson's come first in the menu."
    _ready()
    stems = [f.stem for d in ('nbs', 'lessons') for f in (ROOT/d).glob('*.ipynb') if not f.stem.startswith('_')]
    want = {'index.html', 'api.html'} | {f"{n.split('_', 1)[1] if n[0].isdigit() else n}.html".lower() for n in stems}
    assert want <= set(PAGES), sorted(want - set(PAGES))
    menu = (SITE/'index.html').read_text().split('<nav>')[1].split('</nav>')[0]
    names = sorted(f.stem for f in (ROOT/'lessons').glob('*.ipynb'))
    lessons = [menu.index(f'href="{n.split("_", 1)[1].lower()}.html"') for n in names]
    assert lessons == sorted(lessons) and max(lessons) < menu.index('href="core.html"'), menu

@pytest.mark.parametrize('name', PAGES)
def test_page(browser, name):
    "The page renders, every image loads with a size, no traceback shows, and every local link reaches its target."
    page, errors = browser.new_page(), []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto((SITE/name).as_uri(), wait_until='load')
    info = page.evaluate('''() => ({title: document.title, text: document.body.innerText,
        imgs: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))})''')
    page.close()
    assert info['title'].endswith('paddy_road') and len(info['text']) > 300, info['title']
    assert 'Traceback (most recent call last)' not in info['text']
    assert 'show_doc(' not in info['text'], f'{name}: a show_doc call is shown to the reader'
    assert all(c and w > 0 and h > 0 for c, w, h in info['imgs']), info['imgs']
    assert not errors, errors
    for href in info['links']:
        u = urlparse(href)
        if u.scheme in ('http', 'https', 'mailto'): continue
        target = SITE/unquote(u.path) if u.path else SITE/name
        assert target.is_file(), f'{name}: a link to {href}, which is not in the site'
        if u.fragment:   # a browser looks for the fragment as it is, then percent-decoded
            assert {u.fragment, unquote(u.fragment)} & ids(target.name), f'{name}: {href}: no such anchor'

def test_screenshots(browser):
    "Four pages as a reader sees them, in _docs/screenshots/: collab PCA, memory table, plan, part 3's sweep."
    out = SITE/'screenshots'
    out.mkdir(exist_ok=True)
    for fn, (name, start, end) in SHOTS.items():
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        page.goto((SITE/name).as_uri(), wait_until='load')
        first = page.locator('h2, h3, div.cell', has_text=start).first.bounding_box()
        last = page.locator('div.cell', has_text=end).last.bounding_box()
        top, bottom = first['y'] - 10, last['y'] + last['height'] + 10
        page.screenshot(path=str(out/fn), full_page=True, clip=dict(x=230, y=top, width=1040, height=bottom - top))
        page.close()
        assert (out/fn).stat().st_size > 10_000 and bottom - top > 200, fn
