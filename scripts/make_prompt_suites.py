#!/usr/bin/env python3
"""Writes samples/prompts/eval.txt (72 balanced held-out prompts) and train.txt (examples of what the
grammar generates; training samples it freely). Deterministic; plain Python, no packages.

    python3 scripts/make_prompt_suites.py
"""
import itertools
import os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
colors = ["red", "green", "blue", "yellow", "white", "purple", "orange"]
backgrounds = colors + ["black", "gray"]
shapes = ["circle", "square", "triangle"]
motions = ["moving left", "moving right", "moving up", "moving down", "staying still"]
relations = ["and", "to the left of", "to the right of", "above", "below"]


def background_for(i, used):
    for k in range(len(backgrounds)):
        b = backgrounds[(i + k) % len(backgrounds)]
        if b not in used:
            return b


def eval_prompts():
    out = []
    # 42 one-object prompts: every colour × shape twice, motions and backgrounds cycling.
    for i, (c, s) in enumerate(list(itertools.product(colors, shapes)) * 2):
        m = motions[i % len(motions)]
        out.append(f"a {c} {s} {m} on a {background_for(i * 3 + 1, {c})} background")
    # 30 two-object prompts: relations cycling, colour pairs distinct, shapes and motions cycling.
    for i in range(30):
        c1, c2 = colors[i % 7], colors[(i * 3 + 2) % 7]
        if c2 == c1:
            c2 = colors[(i + 1) % 7]
        s1, s2 = shapes[i % 3], shapes[(i // 3 + 1) % 3]
        rel = relations[i % len(relations)]
        m = motions[(i * 2) % len(motions)]
        out.append(f"a {c1} {s1} {rel} a {c2} {s2} {m} on a {background_for(i * 5 + 3, {c1, c2})} background")
    return out


def train_examples():
    out = []
    for i in range(40):
        c, s, m = colors[(i * 2) % 7], shapes[i % 3], motions[(i * 3) % 5]
        verb = ["moving", "sliding", "drifting"][i % 3] if m != "staying still" else ""
        motion = f"{verb} {m.split()[1]}" if verb else m
        noun = {"circle": ["circle", "ball"], "square": ["square", "box"], "triangle": ["triangle"]}[s][i % (2 if s != "triangle" else 1)]
        out.append(f"{'the' if i % 4 == 0 else 'a'} {c} {noun} {motion} on a {background_for(i * 7 + 2, {c})} background")
    return out


if __name__ == "__main__":
    with open(os.path.join(root, "samples/prompts/eval.txt"), "w") as f:
        f.write("\n".join(eval_prompts()) + "\n")
    with open(os.path.join(root, "samples/prompts/train.txt"), "w") as f:
        f.write("\n".join(train_examples()) + "\n")
    print("wrote samples/prompts/eval.txt and train.txt")
