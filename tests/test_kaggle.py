"On Kaggle (its variable set, /kaggle moved with PADDY_KAGGLE_ROOT): the data, the GPU, and each member's weights."
import contextlib, io, subprocess
from pathlib import Path
import pytest, timm, torch
from safetensors import safe_open
from safetensors.torch import save_file
import paddy_road.onkaggle as onkaggle
from paddy_road.bag import bag
from paddy_road.data import PaddyDataError, paddy_path
from paddy_road.ensemble import Member, train_member
from paddy_road.pretrained import WeightsRefused, find_weights
from paddy_road.train import train, train_learner
from conftest import script

@pytest.fixture
def kaggle(tmp_path, monkeypatch):
    "A Kaggle notebook with nothing attached, no GPU, and its own once-per-process memory of what it said."
    monkeypatch.setenv('KAGGLE_KERNEL_RUN_TYPE', 'Batch')
    monkeypatch.setenv('PADDY_KAGGLE_ROOT', str(tmp_path/'kaggle'))
    monkeypatch.delenv('PADDY_PATH', raising=False)
    monkeypatch.setattr(onkaggle, '_SAID', set()); monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    (tmp_path/'kaggle'/'input').mkdir(parents=True); (tmp_path/'kaggle'/'working').mkdir()
    return tmp_path/'kaggle'

def save(model_name:str, fn:Path, **kw) -> Path:
    "A pretrained=False model's weights as the hub files them (its pretrained head included)."
    fn.parent.mkdir(parents=True, exist_ok=True)
    save_file(timm.create_model(model_name, pretrained=False, **kw).state_dict(), str(fn))
    return fn

def body_equals_file(learn, fn) -> list:
    "Names of the tensors of the learner's timm body that differ from the file's (the head aside)."
    sd = learn.model[0].model.state_dict()
    with safe_open(str(fn), framework='pt') as f: return [k for k in sd if not torch.equal(sd[k], f.get_tensor(k))]

def test_without_the_competition_every_entry_stops_with_the_attach_message(kaggle, paddy):
    attach = 'Add Input > Competitions > paddy-disease-classification'
    with pytest.raises(PaddyDataError, match='this Kaggle notebook has no Paddy Doctor data attached') as e:
        paddy_path()
    assert attach in str(e.value) and str(kaggle/'input') in str(e.value)
    with pytest.raises(PaddyDataError, match=attach): train('resnet10t', 32, pretrained=False)
    calls = []
    with pytest.raises(PaddyDataError, match=attach):
        bag([Member('resnet10t', 32)], trainer=lambda *a, **k: calls.append(a), pretrained=False)
    assert calls == []

def test_no_gpu_is_said_before_any_epoch_and_once(kaggle, paddy, capsys):
    learn = train('resnet10t', 32, path=paddy, pretrained=False, finetune=False, epochs=1, bs=16, num_workers=0)
    out = capsys.readouterr().out
    assert out.startswith('paddy_road: this Kaggle notebook has no GPU, so train runs on the CPU'), out[:300]
    assert 'Settings > Accelerator > GPU T4 x2' in out and len(learn.recorder.values) == 1
    train('resnet10t', 32, path=paddy, pretrained=False, finetune=False, epochs=1, bs=16, num_workers=0)
    assert 'no GPU' not in capsys.readouterr().out   # said once

def test_train_loads_a_local_file_bit_for_bit(paddy, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    fn = save('resnet18', tmp_path/'models--timm--resnet18.a1_in1k'/'snapshots'/'0f1e'/'model.safetensors')
    for given in (fn, tmp_path/'models--timm--resnet18.a1_in1k'):   # the file, or the folder holding it
        learn = train_learner('resnet18', 32, path=paddy, weights=given, bs=16, num_workers=0)
        assert body_equals_file(learn, fn) == []
    other = save('resnet10t', tmp_path/'resnet10t.safetensors')
    with pytest.raises(WeightsRefused, match=f"weights {other} \\(its path names resnet10t\\) are not resnet18's"):
        train('resnet18', 32, path=tmp_path/'no-data-read-yet', weights=other)   # refused before the data is looked at
    with pytest.raises(ValueError, match='with pretrained=False: random weights load no file'):
        train_learner('resnet18', 32, path=paddy, weights=fn, pretrained=False)

def test_a_bag_of_two_architectures_gives_each_its_own_file(paddy, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    kin = tmp_path/'input'
    r18 = save('resnet18', kin/'resnet-18-weights'/'resnet18.a1_in1k.safetensors')
    r10 = save('resnet10t', kin/'hf'/'models--timm--resnet10t.c3_in1k'/'snapshots'/'ab'/'model.safetensors')
    with contextlib.redirect_stdout(io.StringIO()) as said:
        members = find_weights([Member('resnet18', 32, 40), Member('resnet10t', 32, 40)], root=kin)
    assert [m.weights for m in members] == [r18, r10], said.getvalue()
    seen = tmp_path/'seen.txt'
    def trainer(m, path, **kw):   # the real member training, with a look at the weights it starts from
        from fastai.callback.core import Callback
        class Look(Callback):
            order = 0
            def before_fit(self):   # fine_tune's first fit only: the second starts from trained weights
                if getattr(self.learn, 'looked', False): return
                self.learn.looked = True
                with open(seen, 'a') as f: f.write(f'{m.arch} {body_equals_file(self.learn, m.weights)}\n')
        return train_member(m, path, cbs=[Look()], **kw)
    man = bag(members, paddy, tmp_path/'ens', trainer=trainer, epochs=1, accum=1, bs=16, num_workers=0)
    assert list(man.status) == ['ok', 'ok']
    assert seen.read_text().splitlines() == ['resnet18 []', 'resnet10t []']   # each from its own file, bit for bit

def test_a_wrong_file_is_refused_by_bag_before_any_member(paddy, tmp_path):
    r10 = save('resnet10t', tmp_path/'resnet10t.c3_in1k'/'model.safetensors')
    calls = []
    with pytest.raises(WeightsRefused) as e:
        bag([Member('resnet10t', 32), Member('resnet18', 32, weights=r10)], paddy, tmp_path/'ens',
            trainer=lambda *a, **k: calls.append(a))
    assert "(its path names resnet10t.c3_in1k) are not resnet18's" in str(e.value) and calls == []
    with pytest.raises(ValueError, match=r"would load one file into 2 architectures \(resnet10t, resnet18\)"):
        bag([Member('resnet10t', 32), Member('resnet18', 32)], paddy, tmp_path/'ens', weights=r10,
            trainer=lambda *a, **k: calls.append(a))
    assert calls == []

def test_paddy_check_says_a_synthetic_set_is_synthetic(paddy, cli_env):
    r = subprocess.run([script('paddy_check'), '--path', str(paddy)], env=cli_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"paddy_check: {paddy} (paddy_road's synthetic set, not the competition's data) is fine: " in r.stdout

def test_on_kaggle_paddy_check_without_data_is_one_line(tmp_path, cli_env):
    env = cli_env | dict(KAGGLE_KERNEL_RUN_TYPE='Interactive', PADDY_KAGGLE_ROOT=str(tmp_path/'kaggle'))
    r = subprocess.run([script('paddy_check')], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count('\n') == 1, r.stderr
    assert r.stderr.startswith('paddy_check: error: this Kaggle notebook has no Paddy Doctor data attached')

def test_the_install_recipes_name_this_repository_and_the_wheel():
    "The online recipe's address is settings.ini's git_url; the offline one installs a wheel with the index off."
    import configparser, json, re
    root = Path(__file__).resolve().parent.parent
    cfg = configparser.ConfigParser(); cfg.read(root/'settings.ini')
    url = cfg['DEFAULT']['git_url']
    assert url == f"https://github.com/{cfg['DEFAULT']['user']}/{cfg['DEFAULT']['repo']}"
    readme = (root/'README.md').read_text()
    first = ''.join(json.loads((root/'lessons'/'1_road_to_the_top_part_3.ipynb').read_text())['cells'][1]['source'])
    for text in (readme, first):
        assert re.search(rf'pip install -q git\+{re.escape(url)}$', text, re.M)   # the whole address, no more
        assert 'pip install -q --no-index --no-deps ' in text and 'paddy_road-*.whl' in text
    assert 'pip wheel --no-deps -w dist .' in readme

def test_find_weights_also_searches_hf_hub_cache(tmp_path, monkeypatch, capsys):
    "An attached Hugging Face cache pointed at by HF_HUB_CACHE: found, checked, and said."
    cache = tmp_path/'attached-hf-cache'
    r10 = save('resnet10t', cache/'models--timm--resnet10t.c3_in1k'/'snapshots'/'9a'/'model.safetensors')
    (tmp_path/'input').mkdir()
    monkeypatch.setenv('HF_HUB_CACHE', str(cache))
    got = find_weights([Member('resnet10t', 32)], root=tmp_path/'input')
    assert got[0].weights == r10 and capsys.readouterr().out == f'find_weights: resnet10t: {r10}\n'
    monkeypatch.delenv('HF_HUB_CACHE')
    assert find_weights([Member('resnet10t', 32)], root=tmp_path/'input')[0].weights is None

def test_weights_are_judged_by_their_bytes_not_their_name(paddy, tmp_path, monkeypatch):
    "safetensors bytes named model.bin are loaded as safetensors; a pickle under a .safetensors name is refused."
    monkeypatch.setenv('HF_HUB_OFFLINE', '1'); monkeypatch.setenv('PADDY_ROAD_CACHE', str(tmp_path/'cache'))
    st = save('resnet18', tmp_path/'st'/'model.safetensors')
    bin_ = tmp_path/'renamed'/'model.bin'; bin_.parent.mkdir(); bin_.write_bytes(st.read_bytes())
    learn = train_learner('resnet18', 32, path=paddy, weights=bin_, bs=16, num_workers=0)
    assert body_equals_file(learn, st) == []                     # timm read it as safetensors, bit for bit
    pk = tmp_path/'pk'/'model.safetensors'; pk.parent.mkdir()
    torch.save(timm.create_model('resnet18', pretrained=False).state_dict(), pk)
    with pytest.raises(WeightsRefused, match=rf"^weights {pk} for resnet18 are a pickle \(torch.save\), which "
                                             r"paddy_road never loads \(unpickling can run code\)"):
        train('resnet18', 32, path=tmp_path/'no-data-read-yet', weights=pk)

def test_timms_own_cached_file_is_checked_like_an_attached_one(tmp_path, monkeypatch):
    "A truncated model.safetensors in the HF cache (no weights= given): one line naming it and what to do."
    from paddy_road.pretrained import check_pretrained
    cache = tmp_path/'hf'
    snap = cache/'models--timm--resnet10t.c3_in1k'/'snapshots'/'9a'
    fn = save('resnet10t', snap/'model.safetensors')
    fn.write_bytes(fn.read_bytes()[:fn.stat().st_size // 2])   # a download cut short
    refs = cache/'models--timm--resnet10t.c3_in1k'/'refs'; refs.mkdir(); (refs/'main').write_text('9a')
    monkeypatch.setenv('HF_HUB_CACHE', str(cache)); monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, 'HF_HUB_CACHE', str(cache))
    with pytest.raises(WeightsRefused, match=rf"^weights {fn} for resnet10t: not a safetensors file .* It is timm's "
                                             r"own cached copy: delete it \(.*\); the hub fetches it again when the "
                                             r"internet is on\.$"):
        check_pretrained('resnet10t')
