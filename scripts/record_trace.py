#!/usr/bin/env python3
"""record_trace.py - capture a real KV access trace from a Hugging Face model.

Decodes a prompt with a causal LM on a GPU and records, for every generated
token n and every layer l, the indices of the earlier tokens whose KV the
layer's attention reads, the way the seed paper built its traces
(score_collect.py + split.py, SEED-MODEL.md section 2): the layer's attention
row of token n is averaged over heads, the indices are sorted by descending
weight, and the top max(1, ceil(n * (1 - s/100))) are kept for sparsity s.

Output: the seed CSV form (`n,l,read_kv`, one row per (n, l), full lists), or
kv-opt's text trace form (deltas). Convert either to the compact binary form
with `kv-trace convert trace.csv -o trace.kvt`. Several sparsities can be
written in one run (one file per sparsity, `<out>_<s>.csv`).

Requirements (not installed by kv-opt, not run in CI): Python 3.9+, torch,
transformers, a CUDA GPU with room for the model, and the model weights
(`--model` takes a Hub id or a local directory). Attention weights need the
eager attention implementation, which this script requests; memory for the
attention rows grows with the context (one row per layer per step).

Examples:
  python3 scripts/record_trace.py --model meta-llama/Llama-3.1-8B \\
      --prompt-file narrativeqa.txt --max-new-tokens 1024 \\
      --sparsity 60 80 --out traces/llama8b
  python3 scripts/record_trace.py --model Qwen/Qwen3-8B --prompt "..." \\
      --sparsity 60 --format text --out qwen3

Limits: one sequence (batch 1); GQA models are averaged over query heads (the
KV entry is shared within a group, so the union over heads would read more);
MLA models read their latent cache for every kept token in the same way.
"""

import argparse
import math
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hub id or local path")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="prompt text")
    src.add_argument("--prompt-file", help="file with the prompt text")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--max-prompt-tokens", type=int, default=0,
                   help="truncate the prompt to its last N tokens (0: keep)")
    p.add_argument("--sparsity", type=float, nargs="+", default=[60.0],
                   help="percent of tokens NOT read (seed: 40 50 60 80 85 90)")
    p.add_argument("--format", choices=["csv", "text"], default="csv")
    p.add_argument("--out", required=True, help="output path prefix")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", choices=["bfloat16", "float16", "float32"],
                   default="bfloat16")
    return p.parse_args(argv)


def kept(length, sparsity):
    """split.py's rule: max(1, ceil(len * (1 - s/100)))."""
    return max(1, math.ceil(length * (1.0 - sparsity / 100.0)))


class Writer:
    """One output file per sparsity, in the seed CSV or the text form."""

    def __init__(self, path, fmt, layers, prompt_len, decode):
        self.fmt = fmt
        self.f = open(path, "w")
        self.prev = [set() for _ in range(layers)]
        self.step = 0
        if fmt == "csv":
            self.f.write("n,l,read_kv\n")
        else:
            self.f.write(f"kvtrace 1 layers={layers} batch=1 "
                         f"prompt={prompt_len} decode={decode}\n")

    def row(self, n, layer, indices):
        if self.fmt == "csv":
            self.f.write(f'{n},{layer},"[{",".join(map(str, indices))}]"\n')
            return
        cur = set(indices)
        added = sorted(cur - self.prev[layer])
        removed = sorted(self.prev[layer] - cur)
        self.prev[layer] = cur
        self.f.write(f"{self.step} {layer} 0 + {' '.join(map(str, added))}"
                     f" - {' '.join(map(str, removed))}\n")

    def next_step(self):
        self.step += 1

    def close(self):
        self.f.close()


def main(argv):
    args = parse_args(argv)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        sys.exit(f"record_trace.py: needs torch and transformers ({e})")

    text = args.prompt
    if args.prompt_file:
        with open(args.prompt_file) as f:
            text = f.read()
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(
        args.model, torch_dtype=getattr(torch, args.dtype),
        attn_implementation="eager").to(args.device).eval()
    ids = tok(text, return_tensors="pt").input_ids
    if args.max_prompt_tokens and ids.shape[1] > args.max_prompt_tokens:
        ids = ids[:, -args.max_prompt_tokens:]
    ids = ids.to(args.device)
    prompt_len = ids.shape[1]
    layers = model.config.num_hidden_layers
    # The seed's convention: the first row is n = prompt length, reading
    # tokens 0..n-1 (the prompt); the token decoded at step i is n = P + i.
    writers = {}
    for s in args.sparsity:
        suffix = f"_{int(s) if s == int(s) else s}"
        ext = ".csv" if args.format == "csv" else ".txt"
        writers[s] = Writer(args.out + suffix + ext, args.format, layers,
                            prompt_len, args.max_new_tokens)

    with torch.no_grad():
        out = model(ids, use_cache=True)
        past = out.past_key_values
        next_id = out.logits[:, -1].argmax(-1, keepdim=True)
        for step in range(args.max_new_tokens):
            n = prompt_len + step
            # The token fed now sits at position n; its attention row covers
            # 0..n, where entry n is itself (the KV written at this step).
            out = model(next_id, past_key_values=past, use_cache=True,
                        output_attentions=True)
            past = out.past_key_values
            for layer, att in enumerate(out.attentions):
                # att: [batch, heads, 1, n+1] -> head-averaged row over 0..n-1.
                row = att[0, :, -1, :n].float().mean(0)
                order = torch.argsort(row, descending=True).tolist()
                for s, w in writers.items():
                    w.row(n, layer, order[:kept(len(order), s)])
            for w in writers.values():
                w.next_step()
            next_id = out.logits[:, -1].argmax(-1, keepdim=True)
    for w in writers.values():
        w.close()
    print(f"recorded {args.max_new_tokens} steps x {layers} layers, prompt "
          f"{prompt_len}, sparsities {args.sparsity} -> {args.out}_*")


if __name__ == "__main__":
    main(sys.argv[1:])
