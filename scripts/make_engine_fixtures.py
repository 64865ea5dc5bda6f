#!/usr/bin/env python3
"""Reference fixtures for the engine's tensor ops and optimizer, from PyTorch (CPU, float32).

Regenerate (never needed by CI):
    python3 -m venv .venv && .venv/bin/pip install "torch==2.13.0+cpu" safetensors
    .venv/bin/python scripts/make_engine_fixtures.py

Writes
  Tests/TensorsTests/Fixtures/ops.safetensors   per op: inputs, output, upstream grad, input grads
  Tests/NNTests/Fixtures/adamw_mlp.safetensors  a tiny MLP, 10 AdamW steps with clipping and a
                                                warm-up + cosine LR: losses, grad norms, final weights
"""
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_num_threads(1)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def op_fixtures():
    out = {}

    def record(name, fn, **inputs):
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = fn(**leaves)
        gy = torch.randn_like(y)
        y.backward(gy)
        out[f"{name}.out"] = y.detach()
        out[f"{name}.gout"] = gy
        for k, v in leaves.items():
            out[f"{name}.in.{k}"] = inputs[k].clone()
            out[f"{name}.grad.{k}"] = v.grad

    x = torch.randn(3, 5, 12)
    record("layer_norm", lambda x, w, b: F.layer_norm(x, (12,), w, b, eps=1e-6),
           x=x, w=torch.randn(12), b=torch.randn(12))
    record("layer_norm_plain", lambda x: F.layer_norm(x, (12,), eps=1e-6), x=x)
    record("rms_norm", lambda x, w: F.rms_norm(x, (12,), w, eps=1e-6), x=x, w=torch.randn(12))
    record("gelu", lambda x: F.gelu(x, approximate="tanh"), x=torch.randn(7, 9) * 3)
    record("silu", lambda x: F.silu(x), x=torch.randn(7, 9) * 3)
    record("softmax", lambda x: torch.softmax(x, -1), x=torch.randn(4, 11) * 2)

    # Attention in [B, L, H, d] layout.
    def attn(q, k, v):
        o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return o.transpose(1, 2)
    record("attention", attn, q=torch.randn(2, 6, 3, 8), k=torch.randn(2, 7, 3, 8), v=torch.randn(2, 7, 3, 8))

    # Causal conv3d as in the Wan-VAE: pad 2 frames in front, 1 on each spatial side, stride 1.
    def causal_conv(x, w, b):
        return F.conv3d(F.pad(x, (1, 1, 1, 1, 2, 0)), w, b)
    record("conv3d_causal", causal_conv, x=torch.randn(2, 3, 5, 6, 7), w=torch.randn(4, 3, 3, 3, 3) * 0.2,
           b=torch.randn(4))
    # Strided spatial conv (the VAE's downsample): pad right/bottom by 1, kernel (1,3,3), stride (1,2,2).
    def down_conv(x, w, b):
        return F.conv3d(F.pad(x, (0, 1, 0, 1, 0, 0)), w, b, stride=(1, 2, 2))
    record("conv3d_down", down_conv, x=torch.randn(1, 4, 3, 9, 8), w=torch.randn(5, 4, 1, 3, 3) * 0.2,
           b=torch.randn(5))
    # Temporal stride-2 conv (kernel (3,1,1)).
    record("conv3d_time", lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1)),
           x=torch.randn(1, 3, 7, 4, 5), w=torch.randn(3, 3, 3, 1, 1) * 0.3, b=torch.randn(3))
    record("upsample", lambda x: F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest-exact"),
           x=torch.randn(1, 2, 3, 4, 5))
    return out


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 16)
        self.norm1 = torch.nn.LayerNorm(16, eps=1e-6)
        self.fc2 = torch.nn.Linear(16, 16)
        self.norm2 = torch.nn.RMSNorm(16, eps=1e-6)
        self.fc3 = torch.nn.Linear(16, 4)

    def forward(self, x):
        h = self.norm1(F.gelu(self.fc1(x), approximate="tanh"))
        h = self.norm2(F.silu(self.fc2(h)))
        return self.fc3(h)


def warmup_cosine(step, peak, floor, warmup, total):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min((step - warmup) / max(total - warmup, 1), 1.0)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


def adamw_fixture():
    model = MLP()
    with torch.no_grad():   # non-trivial norm parameters
        for p in (model.norm1.weight, model.norm1.bias, model.norm2.weight):
            p.add_(0.1 * torch.randn_like(p))
    out = {f"init.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    x, target = torch.randn(8, 6), torch.randn(8, 4)
    out["x"], out["target"] = x, target
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05)
    losses, norms, lrs = [], [], []
    for step in range(10):
        lr = warmup_cosine(step, 1e-2, 1e-3, 3, 10)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5).item())
        opt.step()
        losses.append(loss.item())
        lrs.append(lr)
    out["losses"] = torch.tensor(losses)
    out["grad_norms"] = torch.tensor(norms)
    out["lrs"] = torch.tensor(lrs)
    out.update({f"final.{k}": v.detach().clone() for k, v in model.state_dict().items()})
    return out


if __name__ == "__main__":
    meta = {"generator": "scripts/make_engine_fixtures.py", "torch": torch.__version__}
    save_file({k: v.contiguous() for k, v in op_fixtures().items()},
              os.path.join(root, "Tests/TensorsTests/Fixtures/ops.safetensors"), metadata=meta)
    save_file({k: v.contiguous() for k, v in adamw_fixture().items()},
              os.path.join(root, "Tests/NNTests/Fixtures/adamw_mlp.safetensors"), metadata=meta)
    print("fixtures written")
