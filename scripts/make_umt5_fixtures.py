#!/usr/bin/env python3
"""umT5 text-encoder fixtures from transformers and diffusers (torch CPU, float32): a tiny sentencepiece
model, a small random UMT5EncoderModel, the token ids and prompt embeddings WanPipeline makes with them,
and a whole small Wan2.1 folder (tokenizer, text encoder, transformer, VAE, scheduler) sampled from text.

Regenerate (never needed by CI):
    python3 -m venv .venv && .venv/bin/pip install "torch==2.13.0+cpu" diffusers transformers sentencepiece \\
        safetensors protobuf --extra-index-url https://download.pytorch.org/whl/cpu
    .venv/bin/python scripts/make_umt5_fixtures.py
Without `ftfy` installed: diffusers runs `ftfy.fix_text` on prompts only when ftfy is importable, and the
engine does not (docs/wan21.md §6).

Writes under Tests/ModelsTests/Fixtures/umt5 and Tests/DiffusionTests/Fixtures:
  umt5/tokenizer/spiece.model         a unigram model of about 100 pieces (T5 layout: <pad> 0, </s> 1, <unk> 2)
  umt5/text_encoder/                  config.json + model.safetensors (float32, one file)
  umt5/text_encoder_bf16/             the same weights stored as bfloat16, sharded, with an index
  umt5/io.safetensors                 per prompt i: ids.i (no length limit), input_ids.i / mask.i (max
                                      length 24), embeds.i (WanPipeline's prompt embeddings, [1, 24, 32]),
                                      embeds_bf16.i (from the bfloat16 copy's
                                      weights, widened to float32); buckets.32.128 (relative-position
                                      buckets for key − query = −600…600 at Wan's settings)
  umt5/prompts.json                   the prompts, the prompts as WanPipeline cleans them, and HTML
                                      unescaping cases with Python's html.unescape of each
  wan_text/                           a diffusers WanPipeline folder (model_index.json and one sub-folder
                                      per component); wan_text_io.safetensors: its initial latents and the
                                      frames WanPipeline samples from text with them
"""
import html
import io
import json
import os
import shutil

import sentencepiece as spm
import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
from diffusers.pipelines.wan.pipeline_wan import prompt_clean
from safetensors.torch import save_file
from transformers import T5Tokenizer, UMT5Config, UMT5EncoderModel

torch.manual_seed(0)
torch.set_num_threads(2)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
models_dir = os.path.join(root, "Tests/ModelsTests/Fixtures/umt5")
diffusion_dir = os.path.join(root, "Tests/DiffusionTests/Fixtures")
meta = {"generator": "scripts/make_umt5_fixtures.py", "torch": torch.__version__}
MAX_LENGTH = 24

# Prompts: plain, unicode (accents, CJK, a character the tokenizer has never seen), punctuation, numbers,
# repeated and odd whitespace, HTML entities (diffusers unescapes twice), empty, and one longer than the
# max length.
PROMPTS = [
    "a white triangle moving down on a red background",
    "Un cercle rouge à gauche d'un carré bleu — très lent!",
    "青い三角形が右へ動く",
    "3 squares, 2 circles & 1 triangle: (moving) up?!",
    "  a   yellow\tsquare\n\nabove  a green   triangle  ",
    "a red &amp; blue circle &lt;3 &amp;amp; friends &quot;quoted&quot;",
    "an emoji 🙂 and a snowman ☃ on gray",
    "",
    "a purple circle to the right of a white square moving left on a yellow background, slowly, "
    "then quickly, then slowly again, over and over, until the very end of the clip",
]

# HTML character references by the HTML5 rules: named with and without ';', legacy prefixes, numeric
# decimal and hex, replaced and dropped numbers, surrogates, out of range, malformed.
UNESCAPE = ["&amp; &lt; &gt; &quot; &#39; &apos;", "&amp &ampx &notin; &notit; &not", "&#65;&#x42;&#X43;&#68&#x45",
            "&#0; &#128; &#x9F; &#xD800; &#x110000; &#99999999999999999999; &#1; &#xFFFF;",
            "& &; &#; &#x; &#xg; &unknown; &&amp;", "&NewLine;&Tab;&nbsp;&ThickSpace;&fjlig;",
            "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", "a&amp;amp;b", "&lt<&gt", "&Amp;&AMP;&AMP"]

CORPUS = [
    "a white triangle moving down on a red background", "a yellow square above a green triangle",
    "un cercle rouge à gauche d'un carré bleu", "très lent, très rapide", "青い三角形が右へ動く", "赤い円",
    "3 squares 2 circles 1 triangle moving up", "friends quoted, red and blue", "snowman on gray, an emoji",
    "a purple circle to the right of a white square moving left on a yellow background slowly then quickly",
    "over and over until the very end of the clip", "(moving) up?! — & : ; , . ' \" < >",
] * 20


def save(tensors, path):
    save_file({k: v.detach().contiguous().float() if v.is_floating_point() else v.contiguous() for k, v in tensors.items()},
              path, metadata=meta)


def tokenizer_folder(folder):
    os.makedirs(folder, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=model, vocab_size=120,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   character_coverage=1.0, hard_vocab_limit=False)
    with open(os.path.join(folder, "spiece.model"), "wb") as f:
        f.write(model.getvalue())
    # Loaded from the folder, transformers converts spiece.model to its tokenizers pipeline (constructed
    # from vocab_file directly it does not, and maps everything to <unk>).
    return T5Tokenizer.from_pretrained(folder, extra_ids=0)


def encoder(vocab):
    cfg = UMT5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
                     relative_attention_num_buckets=32, relative_attention_max_distance=16,
                     feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, is_encoder_decoder=False)
    model = UMT5EncoderModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))       # norms that do something
            else:
                p.normal_(0, 0.3)
    return model


def main():
    tok_dir = os.path.join(models_dir, "tokenizer")
    if os.path.exists(models_dir):
        shutil.rmtree(models_dir)
    tok = tokenizer_folder(tok_dir)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(tok_dir, "spiece.model"))
    model = encoder(sp.get_piece_size())
    model.save_pretrained(os.path.join(models_dir, "text_encoder"), safe_serialization=True)
    bf16 = encoder(sp.get_piece_size())
    bf16.load_state_dict(model.state_dict())
    bf16 = bf16.to(torch.bfloat16)
    bf16.save_pretrained(os.path.join(models_dir, "text_encoder_bf16"), safe_serialization=True, max_shard_size="8KB")

    # WanPipeline's own prompt encoding (prompt_clean, tokenizer, encoder, trim and re-pad).
    pipe = WanPipeline(tokenizer=tok, text_encoder=model, transformer=None, vae=None,
                       scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True))
    # The engine keeps stored bfloat16 weights as they are and computes in float32: its reference is the
    # rounded weights widened, not torch's bfloat16 arithmetic.
    widened = encoder(sp.get_piece_size())
    widened.load_state_dict({k: v.float() for k, v in bf16.state_dict().items()})
    pipe_bf16 = WanPipeline(tokenizer=tok, text_encoder=widened, transformer=None, vae=None,
                            scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True))
    out = {}
    for i, p in enumerate(PROMPTS):
        out[f"ids.{i}"] = torch.tensor(tok(p, add_special_tokens=True).input_ids, dtype=torch.int64)
        t = tok(p, padding="max_length", max_length=MAX_LENGTH, truncation=True, add_special_tokens=True,
                return_attention_mask=True, return_tensors="pt")
        out[f"input_ids.{i}"], out[f"mask.{i}"] = t.input_ids[0], t.attention_mask[0]
        with torch.no_grad():
            e, _ = pipe.encode_prompt(p, do_classifier_free_guidance=False, max_sequence_length=MAX_LENGTH,
                                      device=torch.device("cpu"), dtype=torch.float32)
            eb, _ = pipe_bf16.encode_prompt(p, do_classifier_free_guidance=False, max_sequence_length=MAX_LENGTH,
                                            device=torch.device("cpu"), dtype=torch.float32)
        out[f"embeds.{i}"], out[f"embeds_bf16.{i}"] = e, eb
    # T5's relative-position buckets at Wan's settings (32 buckets, max distance 128) for key − query
    # positions −600…600.
    from transformers.models.umt5.modeling_umt5 import UMT5Attention
    wan_like = UMT5Attention(UMT5Config(relative_attention_num_buckets=32, relative_attention_max_distance=128), True)
    out["buckets.32.128"] = wan_like._relative_position_bucket(torch.arange(-600, 601))
    save(out, os.path.join(models_dir, "io.safetensors"))
    with open(os.path.join(models_dir, "prompts.json"), "w") as f:
        json.dump({"prompts": PROMPTS, "cleaned": [prompt_clean(p) for p in PROMPTS],
                   "unescape": [[c, html.unescape(c)] for c in UNESCAPE]}, f, ensure_ascii=False, indent=1)

    # A whole Wan2.1 folder sampled from text.
    torch.manual_seed(3)
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                        in_channels=16, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        rope_max_seq_len=32).eval()
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True]).eval()
    with torch.no_grad():
        for p in list(transformer.parameters()) + list(vae.parameters()):
            p.add_(0.05 * torch.randn_like(p))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    full = WanPipeline(tokenizer=tok, text_encoder=model, transformer=transformer, vae=vae, scheduler=scheduler)
    folder = os.path.join(diffusion_dir, "wan_text")
    if os.path.exists(folder):
        shutil.rmtree(folder)
    full.save_pretrained(folder, safe_serialization=True)
    # The engine reads spiece.model; the converted tokenizer.json and its configs stay as diffusers wrote them.
    shutil.copy(os.path.join(tok_dir, "spiece.model"), os.path.join(folder, "tokenizer", "spiece.model"))
    latents = torch.randn(1, 16, 3, 2, 2)
    io_out = {"latents": latents}
    for g, neg in ((5.0, ""), (5.0, "still, gray"), (1.0, "")):
        with torch.no_grad():
            frames = full(prompt=PROMPTS[0], negative_prompt=neg, height=16, width=16, num_frames=9,
                          num_inference_steps=4, guidance_scale=g, latents=latents.clone(), output_type="np",
                          max_sequence_length=MAX_LENGTH).frames
        io_out[f"frames.g{int(g)}.neg{len(neg)}"] = torch.from_numpy(frames)
    save(io_out, os.path.join(diffusion_dir, "wan_text_io.safetensors"))
    print("umT5 fixtures written")


if __name__ == "__main__":
    main()
