import os
import sys

import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def tiny_model():
    import ufo_config
    import ufo_model
    import ufo_prng

    cfg = ufo_config.builtin("tiny")
    m = ufo_model.UfoViT(cfg)
    m.load_state_dict(ufo_prng.random_torch_state_dict(cfg, 0), strict=True)
    return m.eval()
