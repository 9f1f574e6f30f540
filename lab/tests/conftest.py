import pytest
import torch

torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "data(*names): the test reads these pinned data sets (lab/lab/data/manifest.json); they are "
        "resolved first (mirror, cache, then a checked download) and the test is skipped with the "
        "store's message, which lists every place it looked, when one cannot be had",
    )


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("data")
    if marker is None:
        return
    from lab.data import DataUnavailable, dataset_dir

    for name in marker.args:
        try:
            dataset_dir(name)
        except DataUnavailable as e:
            pytest.skip(str(e))


def tiny_config(vocab: int = 64):
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=8,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=1,
        query_pre_attn_scalar=16,
    )


def tiny_model(seed: int = 0):
    from transformers import Gemma3ForCausalLM

    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(tiny_config()).eval()
    return model


def tiny_lora_model(rank: int = 4):
    """The tiny model with a PEFT LoRA whose A and B are both random (seeded), so training moves it."""
    from peft import LoraConfig, get_peft_model

    from lab.lora import PEFT_TARGETS

    model = get_peft_model(tiny_model(), LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=PEFT_TARGETS))
    torch.manual_seed(0)
    for _, p in model.named_parameters():
        if p.requires_grad:
            torch.nn.init.normal_(p, std=0.05)
    return model


def random_lora(model, rank: int, alpha: float, seed: int, skip=()):
    """Random LoRA on all 7 module types of every layer (except (layer, m) pairs in `skip`)."""
    from lab.lora import GGUF_TO_HF, MODULE_TYPES, LoraWeights, decoder_layers

    g = torch.Generator().manual_seed(seed)
    pairs = {}
    for l, layer in enumerate(decoder_layers(model)):
        for m in MODULE_TYPES:
            if (l, m) in skip:
                continue
            lin = layer.get_submodule(GGUF_TO_HF[m])
            lin = getattr(lin, "base", lin)
            a = torch.randn(rank, lin.in_features, generator=g) * 0.2
            b = torch.randn(lin.out_features, rank, generator=g) * 0.2
            pairs[(l, m)] = (a, b)
    return LoraWeights(rank=rank, alpha=alpha, pairs=pairs)


@pytest.fixture
def model():
    return tiny_model()
