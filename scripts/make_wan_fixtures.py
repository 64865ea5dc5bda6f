#!/usr/bin/env python3
"""Wan2.1 parity fixtures from diffusers (torch CPU, float32): transformer, VAE, schedulers,
samplers and the whole WanPipeline fed embeddings and latents (docs/wan21.md §1).

Regenerate (never needed by CI):
    python3 -m venv .venv && .venv/bin/pip install "torch==2.13.0+cpu" diffusers transformers safetensors
    .venv/bin/python scripts/make_wan_fixtures.py
(WanPipeline imports transformers even without a text encoder.)

Writes under Tests/ModelsTests/Fixtures and Tests/DiffusionTests/Fixtures:
  wan_transformer/   config.json + diffusion_pytorch_model.safetensors (a diffusers folder)
  wan_transformer_io.safetensors    inputs and hooked intermediates (batch of 2, non-square grid)
  wan_transformer_original.safetensors  the same weights under the original Wan names
  vae_tiny/, vae_mini/   diffusers AutoencoderKLWan folders
  vae_{tiny,mini}_io.safetensors    per-F inputs, encoder pieces, latents, decoder pieces, outputs
  schedules.safetensors             UniPC and Euler sigma/timestep tables
  samplers.safetensors              trajectories with an analytic velocity (also from a begin index)
  pipeline/ + pipeline_io.safetensors   tiny transformer + VAE, embeddings, latents, frames
"""
import json
import os

import torch
from diffusers import (AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler,
                       WanPipeline, WanTransformer3DModel)
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_num_threads(2)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
models_dir = os.path.join(root, "Tests/ModelsTests/Fixtures")
diffusion_dir = os.path.join(root, "Tests/DiffusionTests/Fixtures")
meta = {"generator": "scripts/make_wan_fixtures.py", "torch": torch.__version__}


def save(tensors, path):
    save_file({k: v.detach().contiguous().float() if v.is_floating_point() else v.contiguous() for k, v in tensors.items()},
              path, metadata=meta)


def perturb(model, std):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(std * torch.randn_like(p))


def hook_outputs(modules):
    """Registers forward hooks; returns a dict name -> list of outputs (one per call)."""
    store = {}
    for name, module in modules:
        store[name] = []
        module.register_forward_hook(lambda m, i, o, name=name: store[name].append(o if torch.is_tensor(o) else o[0]))
    return store


# ---------------------------------------------------------------- transformer
def transformer_fixtures():
    cfg = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=4, out_channels=4,
               text_dim=16, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32)
    model = WanTransformer3DModel(**cfg).eval()
    perturb(model, 0.05)
    folder = os.path.join(models_dir, "wan_transformer")
    model.save_pretrained(folder, safe_serialization=True)

    # Batch 2, non-square patch grid f=3, h=2, w=3; context of 12 tokens, the last 4 zero (padding).
    x = torch.randn(2, 4, 3, 4, 6)
    t = torch.tensor([417, 999])
    ctx = torch.randn(2, 12, 16)
    ctx[:, 8:] = 0
    out = {"hidden_states": x, "timestep": t, "encoder_hidden_states": ctx}

    hooks = hook_outputs([("patch", model.patch_embedding), ("cond", model.condition_embedder),
                          ("proj_out", model.proj_out)] + [(f"block{i}", b) for i, b in enumerate(model.blocks)])
    cond_store = {}
    model.condition_embedder.register_forward_hook(lambda m, i, o: cond_store.update(temb=o[0], tproj=o[1], text=o[2]))
    with torch.no_grad():
        cos, sin = model.rope(x)
        y = model(x, t, ctx, return_dict=False)[0]
        sinusoid = model.condition_embedder.timesteps_proj(t)
    out.update({"sample": y, "rope_cos": cos[0, :, 0], "rope_sin": sin[0, :, 0], "sinusoid": sinusoid,
                "temb": cond_store["temb"], "timestep_proj": cond_store["tproj"], "text_embeds": cond_store["text"],
                "patch_tokens": hooks["patch"][0].flatten(2).transpose(1, 2), "proj_out": hooks["proj_out"][0]})
    for i in range(cfg["num_layers"]):
        out[f"block{i}"] = hooks[f"block{i}"][0]
    # Negative-test reference: the same model without padding the context (first 8 tokens only).
    with torch.no_grad():
        out["sample_unpadded_context"] = model(x, t, ctx[:, :8], return_dict=False)[0]
    save(out, os.path.join(models_dir, "wan_transformer_io.safetensors"))

    # Gradients of block 0 by torch autograd: inputs and every parameter, for a fixed upstream gradient.
    block = model.blocks[0]
    h = out["patch_tokens"][:1].clone().requires_grad_(True)
    ctx_e = out["text_embeds"][:1].clone().requires_grad_(True)
    proj = out["timestep_proj"][:1].reshape(1, 6, -1).clone().requires_grad_(True)
    with torch.no_grad():
        rope = model.rope(x[:1])
    y = block(h, ctx_e, proj, rope)
    gy = torch.randn_like(y)
    block.zero_grad()
    y.backward(gy)
    grads = {"in.hidden": h.detach(), "in.context": ctx_e.detach(), "in.timestep_proj": proj.detach(), "out": y.detach(), "gout": gy,
             "grad.hidden": h.grad, "grad.context": ctx_e.grad, "grad.timestep_proj": proj.grad}
    for name, p_ in block.named_parameters():
        grads["grad.param." + name] = p_.grad
    save(grads, os.path.join(models_dir, "wan_block_grads.safetensors"))

    # Original Wan names (docs/wan21.md §1), with ComfyUI's prefix on half of them.
    rename = [("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
              ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
              ("condition_embedder.time_proj", "time_projection.1"),
              ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
              ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
              (".attn1.to_q", ".self_attn.q"), (".attn1.to_k", ".self_attn.k"), (".attn1.to_v", ".self_attn.v"),
              (".attn1.to_out.0", ".self_attn.o"), (".attn1.norm_", ".self_attn.norm_"),
              (".attn2.to_q", ".cross_attn.q"), (".attn2.to_k", ".cross_attn.k"), (".attn2.to_v", ".cross_attn.v"),
              (".attn2.to_out.0", ".cross_attn.o"), (".attn2.norm_", ".cross_attn.norm_"),
              (".norm2.", ".norm3."), (".ffn.net.0.proj", ".ffn.0"), (".ffn.net.2", ".ffn.2"),
              ("proj_out", "head.head")]
    original = {}
    for i, (k, v) in enumerate(model.state_dict().items()):
        name = k
        for a, b in rename:
            name = name.replace(a, b)
        if name.endswith("scale_shift_table"):
            name = name.replace("scale_shift_table", "modulation") if name.startswith("blocks.") else "head.modulation"
        if i % 2:
            name = "model.diffusion_model." + name
        original[name] = v
    save(original, os.path.join(models_dir, "wan_transformer_original.safetensors"))


# ---------------------------------------------------------------- VAE
def vae_fixtures(name, cfg, frames, size):
    vae = AutoencoderKLWan(**cfg).eval()
    perturb(vae, 0.02)
    vae.save_pretrained(os.path.join(models_dir, f"vae_{name}"), safe_serialization=True)
    out = {}
    for f in frames:
        x = torch.rand(1, 3, f, size[0], size[1]) * 2 - 1
        enc_hooks = hook_outputs([("conv_in", vae.encoder.conv_in), ("mid", vae.encoder.mid_block),
                                  ("enc_out", vae.encoder.conv_out)])
        with torch.no_grad():
            h = vae._encode(x)                      # quant_conv output, 2z channels
        # The chunked encoder calls each hook once per chunk: concatenate along time.
        for k in ("conv_in", "mid", "enc_out"):
            out[f"f{f}.{k}"] = torch.cat(enc_hooks[k], 2)
        for m in (vae.encoder.conv_in, vae.encoder.mid_block, vae.encoder.conv_out):
            m._forward_hooks.clear()
        with torch.no_grad():
            mode = vae.encode(x).latent_dist.mode()
        z = torch.randn_like(mode) * 1.5
        dec_hooks = hook_outputs([("dec_mid", vae.decoder.mid_block)] +
                                 [(f"up{i}", b) for i, b in enumerate(vae.decoder.up_blocks)])
        with torch.no_grad():
            y = vae.decode(z, return_dict=False)[0]
        for k, v in dec_hooks.items():
            out[f"f{f}.{k}"] = torch.cat(v, 2)
        for m in [vae.decoder.mid_block] + list(vae.decoder.up_blocks):
            m._forward_hooks.clear()
        with torch.no_grad():
            y_mode = vae.decode(mode, return_dict=False)[0]
        out.update({f"f{f}.x": x, f"f{f}.h": h, f"f{f}.mode": mode, f"f{f}.z": z, f"f{f}.decoded": y,
                    f"f{f}.reconstruction": y_mode})
    save(out, os.path.join(models_dir, f"vae_{name}_io.safetensors"))
    if name == "mini":
        # Gradients of a residual block with a shortcut (encoder stage 1: 4 → 8 channels) by torch autograd.
        block = vae.encoder.down_blocks[3]
        xb = torch.randn(1, block.in_dim, 5, 6, 5, requires_grad=True)
        y = block(xb)
        gy = torch.randn_like(y)
        block.zero_grad()
        y.backward(gy)
        grads = {"in.x": xb.detach(), "out": y.detach(), "gout": gy, "grad.x": xb.grad}
        for pname, p_ in block.named_parameters():
            grads["grad.param." + pname] = p_.grad
        save(grads, os.path.join(models_dir, "vae_block_grads.safetensors"))


# ---------------------------------------------------------------- schedules and samplers
def schedule_fixtures():
    out = {}
    for n in (1, 2, 4, 10, 50):
        for s in (1.0, 3.0, 5.0, 7.0):
            u = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=s)
            u.set_timesteps(n)
            out[f"unipc.n{n}.s{int(s)}.sigmas"] = u.sigmas
            out[f"unipc.n{n}.s{int(s)}.timesteps"] = u.timesteps
            e = FlowMatchEulerDiscreteScheduler(shift=s)
            e.set_timesteps(n)
            out[f"euler.n{n}.s{int(s)}.sigmas"] = e.sigmas
            out[f"euler.n{n}.s{int(s)}.timesteps"] = e.timesteps
    save(out, os.path.join(diffusion_dir, "schedules.safetensors"))


def sampler_fixtures():
    """x ← scheduler.step(v(x, t)) with v = tanh(W·x) + 0.001·t·x on a [1, 2, 3, 4] state."""
    torch.manual_seed(1)
    W = torch.randn(4, 4) * 0.5
    x0 = torch.randn(1, 2, 3, 4)
    out = {"W": W, "x0": x0}

    def velocity(x, t):
        return torch.tanh(x @ W.T) + 0.001 * float(t) * x

    cases = [("unipc", 4, 3.0), ("unipc", 10, 5.0), ("unipc", 1, 3.0), ("unipc", 2, 5.0), ("euler", 4, 3.0), ("euler", 6, 5.0)]
    for kind, n, s in cases:
        if kind == "unipc":
            sch = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=s)
        else:
            sch = FlowMatchEulerDiscreteScheduler(shift=s)
        sch.set_timesteps(n)
        x = x0.clone()
        traj = [x]
        for t in sch.timesteps:
            x = sch.step(velocity(x, t), t, x, return_dict=False)[0]
            traj.append(x)
        out[f"{kind}.n{n}.s{int(s)}"] = torch.stack(traj)
    # From a begin index (what image-to-image pipelines do with `strength`): the same state x0 taken
    # as the state at step k, then the steps from k on.
    for kind, n, s, k in [("unipc", 10, 5.0, 4), ("unipc", 48, 3.0, 36), ("euler", 6, 5.0, 2)]:
        if kind == "unipc":
            sch = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=s)
        else:
            sch = FlowMatchEulerDiscreteScheduler(shift=s)
        sch.set_timesteps(n)
        sch.set_begin_index(k)
        x = x0.clone()
        traj = [x]
        for t in sch.timesteps[k:]:
            x = sch.step(velocity(x, t), t, x, return_dict=False)[0]
            traj.append(x)
        out[f"{kind}.n{n}.s{int(s)}.from{k}"] = torch.stack(traj)
    save(out, os.path.join(diffusion_dir, "samplers.safetensors"))


def pipeline_fixtures():
    torch.manual_seed(2)
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                        in_channels=16, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        rope_max_seq_len=32).eval()
    perturb(transformer, 0.05)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True]).eval()
    perturb(vae, 0.02)
    folder = os.path.join(diffusion_dir, "pipeline")
    transformer.save_pretrained(os.path.join(folder, "transformer"), safe_serialization=True)
    vae.save_pretrained(os.path.join(folder, "vae"), safe_serialization=True)
    embeds = torch.randn(1, 16, 32)
    embeds[:, 7:] = 0
    negative = torch.zeros(1, 16, 32)
    negative[:, 0] = torch.randn(32)
    latents = torch.randn(1, 16, 3, 2, 2)
    out = {"prompt_embeds": embeds, "negative_prompt_embeds": negative, "latents": latents}
    for kind, n, s in (("euler", 2, 7.0), ("unipc", 4, 3.0)):
        if kind == "euler":
            sch = FlowMatchEulerDiscreteScheduler(shift=s)
        else:
            sch = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=s)
        pipe = WanPipeline(tokenizer=None, text_encoder=None, transformer=transformer, vae=vae, scheduler=sch)
        for g in (6.0, 1.0):
            args = dict(prompt_embeds=embeds, negative_prompt_embeds=negative, latents=latents.clone(), height=16,
                        width=16, num_frames=9, num_inference_steps=n, guidance_scale=g)
            with torch.no_grad():
                frames = pipe(output_type="np", **args).frames
                lat = pipe(output_type="latent", **args).frames
            key = f"{kind}.n{n}.s{int(s)}.g{int(g)}"
            out[key + ".frames"] = torch.from_numpy(frames)
            out[key + ".latents"] = lat
    save(out, os.path.join(diffusion_dir, "pipeline_io.safetensors"))


if __name__ == "__main__":
    transformer_fixtures()
    tiny = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])
    vae_fixtures("tiny", tiny, frames=[1, 5, 9, 13, 17], size=(16, 16))
    mini = dict(base_dim=4, z_dim=4, dim_mult=[1, 2, 4, 4], num_res_blocks=2, temperal_downsample=[False, True, True])
    vae_fixtures("mini", mini, frames=[1, 5, 9, 13, 17], size=(17, 15))
    schedule_fixtures()
    sampler_fixtures()
    pipeline_fixtures()
    print("fixtures written")
