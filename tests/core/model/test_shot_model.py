import numpy as np
import pytest

from tests.conftest import tiny_settings
from vsae.core.model.export import export_onnx
from vsae.core.io.sequence import open_shot
from vsae.core.model.shot_model import ShotModel
from vsae.core.training.trainer import train
from vsae.core.training.frames import load_training_frames


@pytest.fixture(scope="module")
def model(tiny_shot, tmp_path_factory):
    frames = load_training_frames(open_shot(tiny_shot["plates"]))
    settings = tiny_settings(k=8, steps=20)
    result = train(frames, settings)
    folder = tmp_path_factory.mktemp("model")
    m = ShotModel(settings.model_config, result.state_dict)
    m.save(str(folder / "weights.safetensors"))
    export_onnx(m, str(folder))
    return str(folder)


def test_weights_load_without_pickle(model):
    m = ShotModel.load(f"{model}/weights.safetensors")
    assert m.config.k == 8


def test_onnx_and_torch_agree_within_1e3_at_any_size(model):
    x = np.random.default_rng(0).uniform(-0.2, 0.8, size=(2, 3, 100, 150)).astype(np.float32)
    torch_model = ShotModel.load(f"{model}/weights.safetensors", backend="torch")
    onnx_model = ShotModel.load(f"{model}/weights.safetensors", onnx_dir=model, backend="onnx")
    assert onnx_model.resolved_backend() == "onnx"
    a, b = torch_model.reproject(x, iterations=2), onnx_model.reproject(x, iterations=2)
    assert a.shape == x.shape
    assert np.abs(a - b).max() < 1e-3
    za, pads = torch_model.encode(x)
    zb, _ = onnx_model.encode(x)
    assert za.shape == (2, 96, 2, 3)
    assert np.abs(za - zb).max() < 1e-3
    assert np.abs(torch_model.decode(za, pads) - onnx_model.decode(zb, pads)).max() < 1e-3


def test_onnx_reprojection_agrees_with_torch_for_h2_stages_and_a_skip(tmp_path):
    import torch

    from vsae.core.model.autoencoder import ShotAutoencoder
    from vsae.core.settings import ModelConfig

    torch.manual_seed(0)
    config = ModelConfig(k=4, half_width=8, skip_scale=16)
    module = ShotAutoencoder(config)
    torch.nn.init.normal_(module.skip.mix[2].weight, std=0.05)  # a skip that does something, as after training
    m = ShotModel(config, module.state_dict(), backend="torch")
    export_onnx(m, str(tmp_path))
    onnx_model = ShotModel(config, module.state_dict(), onnx_dir=str(tmp_path), backend="onnx")
    x = np.random.default_rng(0).uniform(-0.2, 0.8, size=(1, 3, 100, 150)).astype(np.float32)
    a, b = m.reproject(x), onnx_model.reproject(x)
    assert np.abs(a - m.decode(*m.encode(x))).max() > 1e-3  # the skip is in the reprojection ...
    assert np.abs(a - b).max() < 1e-3  # ... of both backends


def test_auto_backend_is_onnx_where_graphs_exist_torch_without_them_or_for_bf16(model):
    import torch

    from vsae.core.model.inference import onnx_providers

    torch_beats_onnx = torch.cuda.is_available() and "CUDAExecutionProvider" not in onnx_providers()
    with_graphs = ShotModel.load(f"{model}/weights.safetensors", onnx_dir=model)
    assert with_graphs.resolved_backend() == ("torch" if torch_beats_onnx else "onnx")
    assert ShotModel.load(f"{model}/weights.safetensors").resolved_backend() == "torch"
    bf16 = ShotModel.load(f"{model}/weights.safetensors", onnx_dir=model, precision="bf16")
    assert bf16.resolved_backend() == "torch"  # ONNX Runtime would quietly render fp32


def test_onnx_runtime_obeys_the_farm_thread_limit(model, monkeypatch):
    from vsae.core.model.inference import onnx_session
    from vsae.errors import BackendError

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert onnx_session(f"{model}/decoder.onnx").get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "two")
    with pytest.raises(BackendError, match="OMP_NUM_THREADS='two'"):
        onnx_session(f"{model}/decoder.onnx")


def test_bf16_precision_is_close_to_fp32_and_fp32_is_the_default(model):
    from vsae.errors import BackendError

    x = np.random.default_rng(1).uniform(-0.2, 0.8, size=(1, 3, 64, 128)).astype(np.float32)
    fp32 = ShotModel.load(f"{model}/weights.safetensors", backend="torch")
    bf16 = ShotModel.load(f"{model}/weights.safetensors", backend="torch", precision="bf16")
    assert fp32.precision == "fp32"
    a, b = fp32.reproject(x), bf16.reproject(x)
    assert b.dtype == np.float32 and not np.array_equal(a, b)  # it really ran in bf16
    assert np.abs(a - b).max() < 0.05
    with pytest.raises(BackendError, match="precision 'fp16': expected one of fp32, bf16"):
        ShotModel.load(f"{model}/weights.safetensors", precision="fp16")


def test_every_exported_graph_says_what_it_takes_and_which_model_it_is(model, tmp_path):
    import onnxruntime as ort

    m = ShotModel.load(f"{model}/weights.safetensors")
    m.meta = {"key": "0123abcd", "source": "sh010.####.exr"}
    export_onnx(m, str(tmp_path))
    metas = {}
    for graph in ("encoder", "decoder", "reproject"):
        session = ort.InferenceSession(str(tmp_path / f"{graph}.onnx"), providers=["CPUExecutionProvider"])
        metas[graph] = session.get_modelmeta().custom_metadata_map  # what any ONNX tool reads, no vsae needed
    for graph, meta in metas.items():
        assert meta["vsae:graph"] == graph and meta["vsae:model_key"] == "0123abcd"
        assert meta["vsae:padding_stride"] == "64" and "s = 2.0 * sign(x) * |x|^(1/2.2)" in meta["vsae:colour"]
    assert metas["decoder"]["vsae:input"] == metas["encoder"]["vsae:output"] == "(B, 96, H/64, W/64) float32"


def test_a_device_is_asked_for_by_name_and_one_that_is_not_here_is_named(model):
    import torch

    from vsae.core.model.inference import parse_device
    from vsae.core.model.shot_model import check_device
    from vsae.errors import BackendError, ParameterError

    cpu = ShotModel.load(f"{model}/weights.safetensors", onnx_dir=model, device="cpu")
    assert cpu.resolved_backend() == "onnx"  # the CPU: ONNX Runtime, the faster there
    x = np.zeros((1, 3, 64, 64), np.float32)
    cpu.reproject(x)
    assert cpu._session("reproject").get_providers() == ["CPUExecutionProvider"]
    torch_cpu = ShotModel.load(f"{model}/weights.safetensors", backend="torch", device="cpu")
    torch_cpu.reproject(x)
    assert str(torch_cpu._device) == "cpu"
    with pytest.raises(ParameterError, match="--device 'gpu': expected auto, cpu, cuda or cuda:N"):
        parse_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="--device cuda:3: torch sees 0 CUDA devices"):
            check_device("cuda:3")
        with pytest.raises(BackendError, match="--device cuda:3: ONNX Runtime has no CUDA here"):
            check_device("cuda:3", backend="onnx")



def test_latents_encoded_into_one_array_are_those_joined_after(model):
    """encode_batches with the count known writes each batch into one array (no second copy of a long shot's
    latents when they are joined): the same latents; a count that does not match is an error."""
    m = ShotModel.load(f"{model}/weights.safetensors", backend="torch")
    frames = np.random.default_rng(1).uniform(-0.5, 0.5, size=(7, 3, 64, 128)).astype(np.float32)
    joined = m.encode_batches(iter(frames), batch=3)
    assert np.array_equal(m.encode_batches(iter(frames), batch=3, count=7), joined)
    for wrong in (6, 8):
        with pytest.raises(ValueError, match="count"):
            m.encode_batches(iter(frames), batch=3, count=wrong)
