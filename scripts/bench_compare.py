"""The engine against PyTorch + diffusers on the same work, weights and inputs, 2 threads each (THREADS=N:
N each; GPD_THREADS for the engine, torch.set_num_threads for torch).

Run through scripts/bench-compare (it makes the Python environment). Each case is timed in rounds that
alternate engine and torch, so drifting machine load hits both; a round's figure is a median over
repeats after a warm-up, and the ratio (torch seconds / engine seconds, > 1: the engine is faster) is
reported as the median over rounds with its min–max spread. Writes docs/benchmarks.json.

Cases: (gemm) a linear layer's product alone (x·Wᵀ, Float32) on the demo teacher's training shapes, a
1.3B-size FFN's and a square 1024 one — the engine's OpenBLAS against torch's own BLAS, which tells how
much of a ratio below is the BLAS and how much the rest;
(a) a WanTransformer forward (one denoising step) at the demo config and at a mid-size config;
(b) a demo-teacher training step (forward, MSE, backward, clipping, AdamW, batch 32);
(c) a VAE decode of a demo clip (the committed demo VAE); (d) whole samples through the Wan pipeline
fed embeddings and latents: 6 Euler steps without guidance (a student's cost) and 48 UniPC steps with
guidance 5 (the teacher's), including the decode; (e) the frequency-domain loss with its backward;
(memory) the peak RSS of one process doing the same work in each: demo-teacher training steps, and
a forward of a one-block model at the 1.3B sizes on 1560 tokens.

ARITHMETIC=bf16 runs the forward and sample cases with each side's BF16 products — the engine's
`--arithmetic bf16` (AMX tiles), torch under torch.autocast("cpu", dtype=torch.bfloat16) (oneDNN) —
as rows of their own.
"""
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
from safetensors.torch import save_file

THREADS = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(THREADS)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPD = os.path.join(ROOT, ".build", "release", "gpd")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=str(THREADS), GPD_THREADS=str(THREADS))
ARITHMETIC = os.environ.get("ARITHMETIC", "f32")
if ARITHMETIC not in ("f32", "bf16"):
    sys.exit(f"ARITHMETIC={ARITHMETIC}: expected f32 or bf16")


def torch_arithmetic():
    """torch's counterpart of the engine's --arithmetic: autocast to BF16 on the CPU, or nothing."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if ARITHMETIC == "bf16" else contextlib.nullcontext()


def machine():
    """The CPU (model name, family/model, cores) and the OpenBLAS core gpd runs, for each row."""
    info = {}
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        info.setdefault(k.strip(), v.strip())
    version = subprocess.run([GPD, "--version"], capture_output=True, text=True, env=ENV).stdout
    core = next((l.strip() for l in version.splitlines() if l.strip().startswith("core ")), "core unknown")
    return (f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}), "
            f"{os.cpu_count()} CPUs; OpenBLAS {core}")


def gpd_json(*args):
    out = subprocess.run([GPD, *args], check=True, capture_output=True, text=True, env=ENV, cwd=ROOT).stdout
    return json.loads(out)


def median_seconds(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def transformer_config(heads, head_dim, ffn, layers, channels, text_dim):
    return dict(patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=head_dim, in_channels=channels,
                out_channels=channels, text_dim=text_dim, freq_dim=256, ffn_dim=ffn, num_layers=layers,
                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)


DEMO = transformer_config(4, 32, 512, 6, 8, 128)
MID = transformer_config(8, 64, 2048, 8, 16, 512)


def make_transformer(cfg, folder, seed):
    torch.manual_seed(seed)
    m = WanTransformer3DModel(**cfg).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    m.save_pretrained(folder, safe_serialization=True)
    return m


def case_gemm(rows, work):
    """A linear layer's product alone, on the shapes `gpd bench --only gemm` times (its engine-linear rows:
    "NAME ROWS×IN→OUT"): the engine's GFLOP/s from that command against torch.nn.functional.linear on
    the same shapes, one engine run per round for all shapes."""
    def engine_rates():
        report = gpd_json("bench", "--only", "gemm", "--json")
        return {r["name"]: r["value"] for r in report["rows"] if r["group"].startswith("GEMM (engine linear")}
    pairs = {}
    for r in range(ROUNDS):
        rates = engine_rates()
        for name in rates:
            m, rest = name.split()[-1].split("×")
            m, (k, n) = int(m), map(int, rest.split("→"))
            x, w = torch.randn(m, k), torch.randn(n, k)
            flops = 2 * m * k * n
            t = median_seconds(lambda: torch.nn.functional.linear(x, w), 20, warmup=3)
            pairs.setdefault(name, []).append((flops / (rates[name] * 1e9), t))
            print(f"  gemm {name}: round {r + 1}: engine {rates[name]:.1f} GFLOP/s, torch {flops / t / 1e9:.1f} GFLOP/s", file=sys.stderr)
    for name, p in pairs.items():
        rows.append(summarise(f"linear (x·Wᵀ) alone, {name}", p))


def case_forward(rows, work, name, cfg, latent, text_len, repeats):
    folder = os.path.join(work, name)
    model = make_transformer(cfg, folder, 1)
    torch.manual_seed(2)
    x = torch.randn(*latent)
    t = torch.full((latent[0],), 500.0)
    ctx = torch.randn(latent[0], text_len, cfg["text_dim"])
    inputs = os.path.join(work, name + "-in.safetensors")
    save_file({"hidden_states": x, "timestep": t, "encoder_hidden_states": ctx}, inputs)

    def torch_run():
        with torch.no_grad(), torch_arithmetic():
            return median_seconds(lambda: model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False), repeats)

    def engine_run():
        return gpd_json("model", "forward", "--model", folder, "--inputs", inputs, "--repeat", str(repeats), "--arithmetic", ARITHMETIC,
                        "--json")["seconds_per_forward"]

    tokens = latent[2] * (latent[3] // 2) * (latent[4] // 2)
    rows.append(compare(f"transformer forward, {name}, {tokens} tokens, batch {latent[0]}", engine_run, torch_run))


def case_train_step(rows, work):
    torch.manual_seed(4)
    model = WanTransformer3DModel(**DEMO).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=0.01)
    x, target = torch.randn(32, 8, 5, 8, 8), torch.randn(32, 8, 5, 8, 8)
    ctx = torch.randn(32, 16, 128)
    t = torch.arange(32, dtype=torch.float32) * 31

    def step():
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.mse_loss(model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0], target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def engine_run():
        report = gpd_json("bench", "--only", "train", "--json")
        return next(r["seconds"] for r in report["rows"] if r["group"] == "Training step")

    rows.append(compare("training step, demo teacher, batch 32 × 80 tokens", engine_run, lambda: median_seconds(step, 5)))


def case_vae_decode(rows, work):
    folder = os.path.join(ROOT, "samples", "demo", "vae")
    vae = AutoencoderKLWan.from_pretrained(folder).eval()
    torch.manual_seed(5)
    z = torch.randn(1, vae.config.z_dim, 5, 8, 8)
    inputs = os.path.join(work, "vae-in.safetensors")
    save_file({"latents": z}, inputs)

    def torch_run():
        with torch.no_grad():
            return median_seconds(lambda: vae.decode(z, return_dict=False), 10)

    def engine_run():
        return gpd_json("vae", "decode", "--model", folder, "--input", inputs, "--out", os.path.join(work, "vae-out.safetensors"),
                        "--repeat", "10", "--json")["seconds_per_decode"]

    rows.append(compare("VAE decode, demo VAE, 8×5×8×8 → 17×32×32", engine_run, torch_run))


def case_samples(rows, work):
    folder = os.path.join(work, "sample-demo")
    transformer = make_transformer(DEMO, folder, 6)
    vae_folder = os.path.join(ROOT, "samples", "demo", "vae")
    vae = AutoencoderKLWan.from_pretrained(vae_folder).eval()
    torch.manual_seed(7)
    embeds, negative = torch.randn(1, 16, 128), torch.zeros(1, 16, 128)
    embeds[:, 9:] = 0
    latents = torch.randn(1, 8, 5, 8, 8)
    paths = {k: os.path.join(work, k + ".safetensors") for k in ("prompt_embeds", "negative_prompt_embeds", "latents")}
    save_file({"prompt_embeds": embeds}, paths["prompt_embeds"])
    save_file({"negative_prompt_embeds": negative}, paths["negative_prompt_embeds"])
    save_file({"latents": latents}, paths["latents"])
    for label, solver, steps, guidance in (("6 Euler steps, no guidance (a student)", "euler", 6, 1.0),
                                           ("48 UniPC steps, guidance 5 (the teacher)", "unipc", 48, 5.0)):
        if solver == "euler":
            sch = FlowMatchEulerDiscreteScheduler(shift=3.0)
        else:
            sch = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
        pipe = WanPipeline(tokenizer=None, text_encoder=None, transformer=transformer, vae=vae, scheduler=sch)

        def torch_run():
            def once():
                with torch.no_grad(), torch_arithmetic():
                    pipe(prompt_embeds=embeds, negative_prompt_embeds=negative, latents=latents.clone(), height=32, width=32,
                         num_frames=17, num_inference_steps=steps, guidance_scale=guidance, output_type="np")
            return median_seconds(once, 3)

        def engine_run():
            times = [gpd_json("sample", "--transformer", folder, "--vae", vae_folder, "--prompt-embeds", paths["prompt_embeds"],
                              "--negative-prompt-embeds", paths["negative_prompt_embeds"], "--latents", paths["latents"],
                              "--solver", solver, "--steps", str(steps), "--shift", "3", "--guidance", str(guidance),
                              "--arithmetic", ARITHMETIC, "--out", os.path.join(work, "sample-out.safetensors"), "--json")["wall_seconds"] for _ in range(3)]
            return statistics.median(times)

        rows.append(compare(f"whole sample, {label}, with decode", engine_run, torch_run))


def butterworth(f, h, w, order=4, d0=0.25):
    # frequencies normalised to [-1, 1] (Nyquist = 1), as Sources/NN/FrequencyLoss.swift
    ft = 2 * torch.fft.fftfreq(f).abs().view(f, 1, 1)
    fh = 2 * torch.fft.fftfreq(h).abs().view(1, h, 1)
    fw = 2 * torch.fft.rfftfreq(w).view(1, 1, w // 2 + 1)
    d2 = ft ** 2 + fh ** 2 + fw ** 2
    return 1 - 1 / (1 + (d2 / d0 ** 2) ** order)


def case_frequency_loss(rows, work):
    torch.manual_seed(8)
    shape = (24, 8, 5, 8, 8)
    a = torch.randn(*shape, requires_grad=True)
    b = torch.randn(*shape)
    weight = butterworth(5, 8, 8)

    def step():
        a.grad = None
        fa, fb = torch.fft.rfftn(a, dim=(-3, -2, -1)), torch.fft.rfftn(b, dim=(-3, -2, -1))
        loss = (weight * (fa - fb).abs() ** 2).mean()
        loss.backward()

    def engine_run():
        report = gpd_json("bench", "--only", "frequency", "--json")
        return next(r["seconds"] for r in report["rows"] if r["group"] == "Frequency-domain loss")

    rows.append(compare("frequency loss + backward, 24 × 8×5×8×8 latents", engine_run, lambda: median_seconds(step, 50)))


# Peak RSS is each process's own VmHWM, read by the process itself: a child's ru_maxrss from wait4
# starts at its parent's resident size (fork, or vfork's shared memory until exec), which here is a
# Python process holding torch and models.
VMHWM = """
def _vmhwm_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""


TORCH_TRAIN = VMHWM + """
import torch, sys
from diffusers import WanTransformer3DModel
torch.set_num_threads({threads})
cfg = {cfg!r}
torch.manual_seed(4)
model = WanTransformer3DModel(**cfg).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=0.01)
x, target = torch.randn(32, 8, 5, 8, 8), torch.randn(32, 8, 5, 8, 8)
ctx, t = torch.randn(32, 16, 128), torch.arange(32, dtype=torch.float32) * 31
for _ in range(5):
    opt.zero_grad(set_to_none=False)
    loss = torch.nn.functional.mse_loss(model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0], target)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
print(_vmhwm_mib())
"""

TORCH_FORWARD = VMHWM + """
import torch
from diffusers import WanTransformer3DModel
from safetensors.torch import load_file
torch.set_num_threads({threads})
model = WanTransformer3DModel.from_pretrained({folder!r}).eval()
i = load_file({inputs!r})
with torch.no_grad():
    model(hidden_states=i["hidden_states"], timestep=i["timestep"], encoder_hidden_states=i["encoder_hidden_states"], return_dict=False)
print(_vmhwm_mib())
"""


def case_memory(rows, work):
    """Peak RSS of one process doing the same work in each: the demo teacher's training steps, and one
    denoising step of a one-block model at the 1.3B sizes on 1560 tokens (one 480×832 latent frame)."""
    def add(name, engine_mib, torch_mib):
        row = {"name": name, "engine_mib": engine_mib, "torch_mib": torch_mib, "ratio": torch_mib / engine_mib, "kind": "peak RSS"}
        print(f"{name:72s} engine {engine_mib:9.0f} MiB  torch {torch_mib:9.0f} MiB  torch/engine {row['ratio']:.2f}", flush=True)
        rows.append(row)

    def torch_peak(script):
        out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=ENV, cwd=ROOT).stdout
        return float(out.strip().splitlines()[-1])

    e = gpd_json("bench", "--only", "train", "--json")["peakRSSMiB"]
    t = torch_peak(TORCH_TRAIN.format(cfg=DEMO, threads=THREADS))
    add("peak RSS, demo teacher training steps, batch 32", e, t)

    folder = os.path.join(work, "block-1.3B")
    big = transformer_config(12, 128, 8960, 1, 16, 4096)
    torch.manual_seed(9)
    m = WanTransformer3DModel(**big).eval()
    m.save_pretrained(folder, safe_serialization=True)
    del m
    inputs = os.path.join(work, "block-in.safetensors")
    save_file({"hidden_states": torch.randn(1, 16, 1, 60, 104), "timestep": torch.full((1,), 500.0),
               "encoder_hidden_states": torch.randn(1, 512, 4096)}, inputs)
    e = gpd_json("model", "forward", "--model", folder, "--inputs", inputs, "--repeat", "1", "--json")["peak_rss_mib"]
    t = torch_peak(TORCH_FORWARD.format(folder=folder, inputs=inputs, threads=THREADS))
    add("peak RSS, one 1.3B-size block (dim 1536, FFN 8960), 1560 tokens, forward", e, t)


def compare(name, engine_run, torch_run):
    pairs = []
    for r in range(ROUNDS):
        e = engine_run()
        t = torch_run()
        pairs.append((e, t))
        print(f"  {name}: round {r + 1}: engine {e * 1e3:.2f} ms, torch {t * 1e3:.2f} ms", file=sys.stderr)
    return summarise(name, pairs)


def summarise(name, pairs):
    """A row from (engine seconds, torch seconds) per round: medians, and the ratio's median and range."""
    ratios = sorted(t / e for e, t in pairs)
    row = {"name": name, "engine_seconds": statistics.median(e for e, _ in pairs),
           "torch_seconds": statistics.median(t for _, t in pairs), "ratio": statistics.median(ratios),
           "spread": [ratios[0], ratios[-1]], "rounds": ROUNDS}
    print(f"{name:72s} engine {row['engine_seconds'] * 1e3:9.2f} ms  torch {row['torch_seconds'] * 1e3:9.2f} ms  "
          f"torch/engine {row['ratio']:.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})", flush=True)
    return row


def main():
    only = set(sys.argv[1:])
    if ARITHMETIC != "f32":
        if only - {"forward", "sample"}:
            sys.exit(f"ARITHMETIC={ARITHMETIC} applies to the forward and sample cases only, not {' '.join(sorted(only - {'forward', 'sample'}))}")
        only = only or {"forward", "sample"}
    rows = []
    with tempfile.TemporaryDirectory() as work:
        cases = [
            ("gemm", lambda: case_gemm(rows, work)),
            ("forward", lambda: case_forward(rows, work, "demo", DEMO, (1, 8, 5, 8, 8), 16, 20)),
            ("forward", lambda: case_forward(rows, work, "mid d512 L8", MID, (1, 16, 4, 32, 32), 64, 5)),
            ("train", lambda: case_train_step(rows, work)),
            ("vae", lambda: case_vae_decode(rows, work)),
            ("sample", lambda: case_samples(rows, work)),
            ("frequency", lambda: case_frequency_loss(rows, work)),
            ("memory", lambda: case_memory(rows, work)),
        ]
        for key, run in cases:
            if not only or key in only:
                run()
    # A partial run (some cases) replaces its own rows and keeps the others; every row carries its date.
    path = os.path.join(ROOT, "docs", "benchmarks.json")
    today, where = time.strftime("%Y-%m-%d"), machine()
    if ARITHMETIC != "f32":   # their own rows, beside the Float32 ones
        for r in rows:
            r["name"] += f" ({ARITHMETIC.upper()} products each)"
    if THREADS != 2:   # its own rows, beside the two-thread ones
        for r in rows:
            r["name"] += f" ({THREADS} thread{'s' if THREADS > 1 else ''} each)"
    for r in rows:
        r["date"], r["machine"], r["threads"] = today, where, THREADS
    kept = []
    if only and os.path.exists(path):
        names = {r["name"] for r in rows}
        old = json.load(open(path))
        kept = [dict(r, date=r.get("date", old.get("date"))) for r in old.get("rows", []) if r["name"] not in names]
        if any(r.get("machine") != where for r in kept):
            print("note: docs/benchmarks.json keeps rows measured on another machine (see each row's 'machine')", file=sys.stderr)
    out = {"threads": THREADS, "torch": torch.__version__, "rows": kept + rows,
           "command": "scripts/bench-compare " + " ".join(sys.argv[1:])}
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
