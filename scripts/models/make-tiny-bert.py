#!/usr/bin/env python3
"""
Builds tiny-hubert: a small BERT-architecture model in transformers.js's layout, for testing the local
embedding provider where no model can be downloaded (docs/decisions/0010-tiny-embedding-model.md).

    pip install onnx numpy
    python3 scripts/models/make-tiny-bert.py [out-dir]   # default test/fixtures/models/tiny-hubert

Output (deterministic: a fixed seed, no timestamps; the JSON files formatted by the repository's prettier):
    config.json             model_type "bert", hidden 768, 12 heads, 1 layer, 512 positions
    tokenizer.json          BertNormalizer (lowercase, accents kept) + BertPreTokenizer + WordPiece,
                            "[CLS] $A [SEP]" template; a vocabulary of Hungarian and English letters,
                            digits, punctuation, their "##" continuations and some word pieces
    tokenizer_config.json   BertTokenizer, model_max_length 512
    onnx/model.onnx         inputs input_ids, attention_mask, token_type_ids; output last_hidden_state
    expected.json           token ids and the mean-pooled, L2-normalised vector of six texts, computed
                            here by an independent numpy forward pass (float64), not by onnxruntime

The graph is BERT's: word + position + token-type embeddings, LayerNorm, one encoder layer (12-head
self-attention with the additive attention mask, residual, LayerNorm, feed-forward 768 -> 3072 -> 768
with exact (erf) GELU, residual, LayerNorm). It outputs 768 components, like huBERT, because the
production collection `autocognitix` is 768-dimensional.

Small on purpose: a dense 768-wide model is megabytes of random numbers. Every large matrix (Q, K, V,
output, both feed-forward matrices, the vocabulary and the 512-row position tables) is stored as two
low-rank factors A (n x 8) and B (8 x m), and a MatMul node on the two initializers makes W = A.B in
the graph (onnxruntime folds it into a constant when it loads the model). Biases, LayerNorm weights
and the 2 x 768 token-type table are stored dense. Total well under 1 MB.
"""

import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20261201
HIDDEN = 768
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
INTERMEDIATE = 3072
MAX_POSITIONS = 512
TYPE_VOCAB = 2
RANK = 8
LN_EPS = 1e-12
MASK_VALUE = -10000.0

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz") + list("áéíóöőúüű")
DIGITS = list("0123456789")
PUNCTUATION = list(".,;:!?-()/'\"%+")
WORDS = [
    "motor", "hiba", "kód", "szenzor", "érzékelő", "jel", "túl", "alacsony", "magas", "feszültség",
    "áramkör", "gyújtás", "kimaradás", "henger", "üzemanyag", "keverék", "sovány", "dús", "hőmérséklet",
    "oxigén", "katalizátor", "hatásfok", "nyomás", "szelep", "engine", "sensor", "circuit", "low", "high",
    "voltage", "misfire", "cylinder", "fuel", "system", "lean", "rich", "bank", "oxygen", "catalyst",
    "efficiency", "pressure", "valve", "temperature", "the", "és", "a", "az",
]
PIECES = ["##ok", "##ek", "##ás", "##és", "##ól", "##ől", "##ban", "##ben", "##hoz", "##nak", "##nek", "##ed",
          "##ing", "##er", "##s", "##ion"]

TEXTS = [
    "P0300 Véletlenszerű/több hengeres gyújtáskimaradás észlelve",
    "Random/Multiple Cylinder Misfire Detected",
    "",
    "Oxigénérzékelő áramkör alacsony feszültség (Bank 1, érzékelő 2) ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP",
    "P0171 System Too Lean (Bank 1) üzemanyag-keverék túl sovány",
    " ".join(["katalizátor hatásfok a küszöb alatt P0420"] * 120),
]


def vocabulary():
    tokens = SPECIALS + LETTERS + DIGITS + PUNCTUATION
    tokens += ["##" + c for c in LETTERS + DIGITS]
    tokens += [w for w in WORDS + PIECES if w not in tokens]
    assert len(tokens) == len(set(tokens)), "duplicate vocabulary entries"
    return {token: index for index, token in enumerate(tokens)}


# ---------------------------------------------------------------- weights (fixed seed, low rank)


def make_weights(vocab_size):
    rng = np.random.default_rng(SEED)

    def factors(rows, cols, target_std):
        # W = A.B with A ~ N(0, 1), B ~ N(0, s): var(W) = RANK * s^2 = target_std^2
        a = rng.standard_normal((rows, RANK)).astype(np.float32)
        b = (rng.standard_normal((RANK, cols)) * (target_std / math.sqrt(RANK))).astype(np.float32)
        return a, b

    def dense(*shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {}
    w["word"] = factors(vocab_size, HIDDEN, 1.0)
    w["position"] = factors(MAX_POSITIONS, HIDDEN, 0.5)
    w["type"] = dense(TYPE_VOCAB, HIDDEN, std=0.2)
    w["emb_ln_gamma"] = (1.0 + dense(HIDDEN, std=0.1)).astype(np.float32)
    w["emb_ln_beta"] = dense(HIDDEN, std=0.1)
    scale = 2.0 / math.sqrt(HIDDEN)  # larger than BERT's 0.02 so attention is far from uniform
    for name in ("q", "k", "v", "o"):
        w[name] = factors(HIDDEN, HIDDEN, scale)
        w[name + "_bias"] = dense(HIDDEN, std=0.05)
    w["attn_ln_gamma"] = (1.0 + dense(HIDDEN, std=0.1)).astype(np.float32)
    w["attn_ln_beta"] = dense(HIDDEN, std=0.1)
    w["ffn_in"] = factors(HIDDEN, INTERMEDIATE, 1.0 / math.sqrt(HIDDEN))
    w["ffn_in_bias"] = dense(INTERMEDIATE, std=0.1)
    w["ffn_out"] = factors(INTERMEDIATE, HIDDEN, 1.0 / math.sqrt(INTERMEDIATE))
    w["ffn_out_bias"] = dense(HIDDEN, std=0.05)
    w["out_ln_gamma"] = (1.0 + dense(HIDDEN, std=0.1)).astype(np.float32)
    w["out_ln_beta"] = dense(HIDDEN, std=0.1)
    return w


# ---------------------------------------------------------------- the ONNX graph


class Graph:
    def __init__(self):
        self.nodes, self.inits = [], []

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name + "_node", **attrs))
        return name

    def low_rank(self, name, pair):
        a, b = pair
        return self.node("MatMul", [self.init(name + "_A", a), self.init(name + "_B", b)], name)

    def linear(self, x, name, w):
        weight = self.low_rank(name + "_W", w[name])
        product = self.node("MatMul", [x, weight], name + "_mm")
        return self.node("Add", [product, self.init(name + "_b", w[name + "_bias"])], name)

    def layer_norm(self, x, name, w):
        gamma = self.init(name + "_gamma", w[name + "_gamma"])
        beta = self.init(name + "_beta", w[name + "_beta"])
        return self.node("LayerNormalization", [x, gamma, beta], name, axis=-1, epsilon=LN_EPS)


def embeddings(g, w):
    words = g.node("Gather", [g.low_rank("word_table", w["word"]), "input_ids"], "words")
    shape = g.node("Shape", ["input_ids"], "ids_shape")
    length = g.node("Gather", [shape, g.init("one_index", np.array(1, dtype=np.int64))], "seq_len")
    zero, one = g.init("zero_i64", np.array(0, dtype=np.int64)), g.init("one_i64", np.array(1, dtype=np.int64))
    position_ids = g.node("Range", [zero, length, one], "position_ids")
    positions = g.node("Gather", [g.low_rank("position_table", w["position"]), position_ids], "positions")
    types = g.node("Gather", [g.init("type_table", w["type"]), "token_type_ids"], "types")
    summed = g.node("Add", [g.node("Add", [words, positions], "words_positions"), types], "embedding_sum")
    return g.layer_norm(summed, "emb_ln", w)


def heads(g, x, name, transpose_for_keys=False):
    split = g.node("Reshape", [x, g.init(name + "_shape", np.array([0, 0, HEADS, HEAD_DIM], dtype=np.int64))],
                   name + "_split")
    perm = [0, 2, 3, 1] if transpose_for_keys else [0, 2, 1, 3]
    return g.node("Transpose", [split], name + "_heads", perm=perm)


def attention(g, x, w):
    mask = g.node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = g.node("Sub", [g.init("one_f", np.array(1.0, dtype=np.float32)), mask], "mask_inverted")
    additive = g.node("Mul", [inverted, g.init("mask_value", np.array(MASK_VALUE, dtype=np.float32))], "mask_add")
    additive = g.node("Unsqueeze", [additive, g.init("mask_axes", np.array([1, 2], dtype=np.int64))], "mask_4d")
    q = heads(g, g.linear(x, "q", w), "q")
    k = heads(g, g.linear(x, "k", w), "k", transpose_for_keys=True)
    v = heads(g, g.linear(x, "v", w), "v")
    scores = g.node("MatMul", [q, k], "scores")
    scaled = g.node("Div", [scores, g.init("sqrt_dh", np.array(math.sqrt(HEAD_DIM), dtype=np.float32))], "scaled")
    probs = g.node("Softmax", [g.node("Add", [scaled, additive], "masked")], "probs", axis=-1)
    context = g.node("Transpose", [g.node("MatMul", [probs, v], "context_heads")], "context_t", perm=[0, 2, 1, 3])
    merged = g.node("Reshape", [context, g.init("merge_shape", np.array([0, 0, HIDDEN], dtype=np.int64))], "context")
    out = g.linear(merged, "o", w)
    return g.layer_norm(g.node("Add", [out, x], "attn_residual"), "attn_ln", w)


def feed_forward(g, x, w):
    h = g.linear(x, "ffn_in", w)
    # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
    erf = g.node("Erf", [g.node("Div", [h, g.init("sqrt2", np.array(math.sqrt(2), dtype=np.float32))], "gelu_div")],
                 "gelu_erf")
    plus = g.node("Add", [erf, g.init("one_f2", np.array(1.0, dtype=np.float32))], "gelu_plus")
    gelu = g.node("Mul", [g.node("Mul", [h, plus], "gelu_mul"), g.init("half", np.array(0.5, dtype=np.float32))],
                  "gelu")
    out = g.linear(gelu, "ffn_out", w)
    return g.layer_norm(g.node("Add", [out, x], "ffn_residual"), "out_ln", w)


def build_model(w):
    g = Graph()
    x = feed_forward(g, attention(g, embeddings(g, w), w), w)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output_node"))
    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch_size", "sequence_length"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                        ["batch_size", "sequence_length", HIDDEN])
    graph = helper.make_graph(g.nodes, "tiny_hubert", ids, [out], initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make-tiny-bert")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------- independent tokenizer and forward pass


def is_punctuation(ch):
    import unicodedata

    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def tokenize(text, vocab):
    """BERT's basic tokenizer (lowercase, accents kept) + greedy longest-match WordPiece."""
    words, current = [], ""
    for ch in text.lower():
        if ch.isspace():
            words, current = words + ([current] if current else []), ""
        elif is_punctuation(ch):
            words, current = words + ([current] if current else []) + [ch], ""
        else:
            current += ch
    words += [current] if current else []
    ids = []
    for word in words:
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start and (("##" if start else "") + word[start:end]) not in vocab:
                end -= 1
            if end == start:
                pieces = [vocab["[UNK]"]]
                break
            pieces.append(vocab[("##" if start else "") + word[start:end]])
            start = end
        ids += pieces
    return [vocab["[CLS]"]] + ids[: MAX_POSITIONS - 2] + [vocab["[SEP]"]]


def reference_vector(ids, w):
    f = {k: (v[0].astype(np.float64) @ v[1].astype(np.float64)) if isinstance(v, tuple) else v.astype(np.float64)
         for k, v in w.items()}

    def ln(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + LN_EPS) * f[name + "_gamma"] + f[name + "_beta"]

    n = len(ids)
    x = ln(f["word"][ids] + f["position"][:n] + f["type"][0], "emb_ln")
    q, k, v = ((x @ f[p] + f[p + "_bias"]).reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2) for p in "qkv")
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(HEAD_DIM)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    context = (probs @ v).transpose(1, 0, 2).reshape(n, HIDDEN)
    x = ln(context @ f["o"] + f["o_bias"] + x, "attn_ln")
    h = x @ f["ffn_in"] + f["ffn_in_bias"]
    gelu = 0.5 * h * (1.0 + np.vectorize(math.erf)(h / math.sqrt(2)))
    x = ln(gelu @ f["ffn_out"] + f["ffn_out_bias"] + x, "out_ln")
    pooled = x.mean(0)  # every token is real (no padding): the attention-mask mean is the plain mean
    return pooled / np.linalg.norm(pooled)


# ---------------------------------------------------------------- tokenizer and config files


def tokenizer_json(vocab):
    special = lambda t: {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                         "normalized": False, "special": True}
    token = lambda t, type_id: {"SpecialToken": {"id": t, "type_id": type_id}}
    seq = lambda s, type_id: {"Sequence": {"id": s, "type_id": type_id}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": False, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [token("[CLS]", 0), seq("A", 0), token("[SEP]", 0)],
            "pair": [token("[CLS]", 0), seq("A", 0), token("[SEP]", 0), seq("B", 1), token("[SEP]", 1)],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def config_json(vocab_size):
    return {
        "_comment": "tiny-hubert: generated by scripts/models/make-tiny-bert.py, random weights, for tests only",
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": 1, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu", "max_position_embeddings": MAX_POSITIONS, "type_vocab_size": TYPE_VOCAB,
        "vocab_size": vocab_size, "layer_norm_eps": LN_EPS, "pad_token_id": 0,
    }


TOKENIZER_CONFIG = {
    "tokenizer_class": "BertTokenizer", "model_max_length": MAX_POSITIONS, "do_lower_case": True,
    "strip_accents": False, "tokenize_chinese_chars": True, "clean_up_tokenization_spaces": True,
    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("test", "fixtures", "models", "tiny-hubert")
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    vocab = vocabulary()
    w = make_weights(len(vocab))
    onnx.save(build_model(w), os.path.join(out, "onnx", "model.onnx"))
    write_json(os.path.join(out, "config.json"), config_json(len(vocab)))
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(out, "tokenizer_config.json"), TOKENIZER_CONFIG)
    cases = []
    for text in TEXTS:
        ids = tokenize(text, vocab)
        vector = reference_vector(ids, w)
        cases.append({"text": text, "input_ids": ids, "vector": [round(float(x), 9) for x in vector]})
    write_json(os.path.join(out, "expected.json"),
               {"dimension": HIDDEN, "pooling": "mean", "normalize": True, "max_tokens": MAX_POSITIONS,
                "cases": cases})
    format_json(out)


def format_json(out):
    """The repository's `prettier --check .` covers the fixtures: format the JSON files as it wants them."""
    import glob
    import subprocess

    files = sorted(glob.glob(os.path.join(out, "*.json")))
    try:
        subprocess.run(["npx", "prettier", "--log-level", "warn", "--write", *files], check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"make-tiny-bert: prettier did not run ({error}); run `npx prettier --write {out}`", file=sys.stderr)


if __name__ == "__main__":
    main()
