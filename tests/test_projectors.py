import pytest
import torch

from omniweave.config import InputProjectorConfig, OutputProjectorConfig
from omniweave.projectors import InputProjector, OutputProjector


@pytest.mark.parametrize("kind", ["linear", "mlp", "mapper", "qformer"])
@pytest.mark.parametrize("features_shape", [(3, 40), (3, 7, 40)])
def test_input_projector_shapes_and_gradients(kind, features_shape):
    torch.manual_seed(0)
    proj = InputProjector(InputProjectorConfig(kind=kind, num_tokens=4, hidden_size=64),
                          feature_width=40, llm_width=32)
    features = torch.randn(*features_shape)
    out = proj(features)
    assert out.shape == (3, 4, 32)
    out.sum().backward()
    assert all(p.grad is not None for p in proj.parameters())


def test_input_projector_mapper_reads_every_token():
    torch.manual_seed(0)
    proj = InputProjector(InputProjectorConfig(kind="mapper", num_tokens=2, hidden_size=64),
                          feature_width=8, llm_width=16)
    x = torch.randn(1, 5, 8)
    y = x.clone()
    y[0, 4] += 1.0
    assert not torch.allclose(proj(x), proj(y))


def test_output_projector_makes_decoder_conditioning():
    torch.manual_seed(0)
    proj = OutputProjector(OutputProjectorConfig(hidden_size=32, num_layers=1, num_heads=4),
                           llm_width=24, cond_len=12, cond_width=64)
    hidden, embeds = torch.randn(2, 4, 24), torch.randn(2, 4, 24)
    cond = proj(hidden, embeds)
    assert cond.shape == (2, 12, 64)
    target = torch.randn(2, 12, 64)
    opt = torch.optim.Adam(proj.parameters(), lr=1e-2)
    first = None
    for _ in range(50):
        loss = (proj(hidden, embeds) - target).pow(2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first  # it can fit caption embeddings (stage-2 L2)


def test_input_projector_qformer_queries_read_every_patch_token():
    torch.manual_seed(0)
    proj = InputProjector(InputProjectorConfig(kind="qformer", num_tokens=2, hidden_size=64,
                                               num_layers=1), feature_width=8, llm_width=16)
    x = torch.randn(3, 65, 8)  # (B, L, F): CLS + 8x8 patches
    assert proj(x).shape == (3, 2, 16)
    y = x.clone()
    y[:, 40] = torch.randn(3, 8)  # one patch changes: the queries see it
    assert not torch.allclose(proj(x), proj(y))
    assert not torch.allclose(proj(x)[:, 0], proj(x)[:, 1])  # the queries differ
