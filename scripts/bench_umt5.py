#!/usr/bin/env python3
"""Memory and speed of umT5 prompt encoding at umT5-XXL's width (d_model 4096, 64 heads of 64, d_ff 10240,
vocabulary 256384) with few layers, for the engine and for PyTorch on the same folder (docs/benchmarks.md,
"umT5-XXL from text").

    .venv/bin/python scripts/bench_umt5.py [--layers 2] [--folder /tmp/umt5-xxl-2] [--gpd .build/release/gpd]

Makes (once) a Wan-style folder with random BF16 weights of that width under --folder (tokenizer/ is the
test fixture's sentencepiece model: the ids differ from umT5's, the work per token does not), then times
one prompt at max length 512 in fresh processes: `gpd text encode --json`, and transformers'
UMT5EncoderModel loaded as BF16 running in BF16 (what diffusers does with Wan's text encoder) and widened
to float32. Prints one JSON line per run with seconds per prompt and peak RSS.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PROMPT = "a white triangle moving down on a red background, then a yellow square above a green circle"


def make_folder(folder, layers):
    import torch
    from transformers import UMT5Config, UMT5EncoderModel
    if os.path.exists(os.path.join(folder, "text_encoder", "config.json")):
        return
    os.makedirs(folder, exist_ok=True)
    shutil.copytree(os.path.join(root, "Tests/ModelsTests/Fixtures/umt5/tokenizer"), os.path.join(folder, "tokenizer"), dirs_exist_ok=True)
    cfg = UMT5Config(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=layers, num_heads=64,
                     relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
                     is_encoder_decoder=False)
    torch.manual_seed(0)
    with torch.device("meta"):
        model = UMT5EncoderModel(cfg)
    model = model.to_empty(device="cpu").to(torch.bfloat16)
    model.encoder.embed_tokens = model.shared          # tied, as in umT5: stored once
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0, 0.02 if "relative_attention_bias" not in name else 0.5)
    model.save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True, max_shard_size="2GB")


def torch_run(folder, dtype_name):
    import torch
    from transformers import T5Tokenizer, UMT5EncoderModel
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean
    torch.set_num_threads(os.cpu_count())
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[dtype_name]
    t0 = time.time()
    tok = T5Tokenizer.from_pretrained(os.path.join(folder, "tokenizer"), extra_ids=0)
    model = UMT5EncoderModel.from_pretrained(os.path.join(folder, "text_encoder"), dtype=dtype).eval()
    loaded = time.time()
    t = tok([prompt_clean(PROMPT)], padding="max_length", max_length=512, truncation=True, add_special_tokens=True,
            return_attention_mask=True, return_tensors="pt")
    with torch.no_grad():
        model(t.input_ids, t.attention_mask)
    done = time.time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": f"torch {torch.__version__} {dtype_name}", "seconds": done - loaded, "load_seconds": loaded - t0,
                      "peak_rss_mib": rss}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--folder", default=None)
    ap.add_argument("--gpd", default=os.path.join(root, ".build/release/gpd"))
    ap.add_argument("--torch-only", choices=["bf16", "f32"])
    a = ap.parse_args()
    folder = a.folder or f"/tmp/umt5-xxl-{a.layers}"
    if a.torch_only:
        torch_run(folder, a.torch_only)
        return
    make_folder(folder, a.layers)
    out = subprocess.run([a.gpd, "text", "encode", "--model", folder, "--prompt", PROMPT, "--out", "/tmp/umt5-bench.safetensors",
                          "--json"], check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    r["engine"] = "gpd"
    print(json.dumps(r))
    for d in ("bf16", "f32"):
        subprocess.run([sys.executable, __file__, "--folder", folder, "--torch-only", d], check=True)


if __name__ == "__main__":
    main()
