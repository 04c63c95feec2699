"""Reference tokenizer for gst-ufo, configured like the original UFO code.

Inference spec §4.2: a ``transformers.BertTokenizerFast`` holding the bert-base-uncased
vocabulary (30522 entries), then ``add_special_tokens({'bos_token': '[DEC]'})`` (id 30522),
``add_special_tokens({'additional_special_tokens': ['[ENC]']})`` (id 30523) and the ordinary
(non-special) token ``<MASK>`` via ``add_tokens`` (id 30524). Uncased (lowercase + strip accents).

The vocabulary is read from ``engine/data/vocab.txt`` (30525 lines: the BERT vocabulary plus the
three added tokens); only its first 30522 lines form the WordPiece vocabulary, the last three are
added exactly as the original does and their ids are checked.

Also provides the prompt builders of the five tasks (inference spec §4.1, segmentation spec §1.3)
and the CleanCaption transform used on referring expressions (inference spec §3.1 step 4).
"""

import inspect
import os
import re
import string
import tempfile

from transformers import BertTokenizerFast

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_VOCAB = os.path.join(REPO_ROOT, "engine", "data", "vocab.txt")
LABELS_DIR = os.path.join(REPO_ROOT, "engine", "data", "labels")

BERT_VOCAB_SIZE = 30522
ADDED_TOKENS = {"[DEC]": 30522, "[ENC]": 30523, "<MASK>": 30524}
MAX_LENGTH = 512


def _read_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _bert_tokenizer(tokens):
    """BertTokenizerFast over the given vocabulary list, on transformers 4.x or 5.x."""
    params = inspect.signature(BertTokenizerFast.__init__).parameters
    if "vocab" in params:
        # transformers >= 5: the class takes the vocabulary directly.
        vocab = {t: i for i, t in enumerate(tokens)}
        return BertTokenizerFast(vocab=vocab, do_lower_case=True)
    # transformers 4.x: it wants a vocab.txt path.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vocab.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(tokens) + "\n")
        return BertTokenizerFast(vocab_file=path, do_lower_case=True)


def make_tokenizer(vocab_path=None):
    """The UFO tokenizer: BERT uncased + [DEC], [ENC] (special) and <MASK> (ordinary)."""
    lines = _read_lines(vocab_path or DEFAULT_VOCAB)
    if len(lines) < BERT_VOCAB_SIZE:
        raise ValueError(f"vocabulary has {len(lines)} lines, expected at least {BERT_VOCAB_SIZE}")
    tok = _bert_tokenizer(lines[:BERT_VOCAB_SIZE])
    # inference spec §4.2: the BlipTokenizer additions, then UFO_ViT's add_tokens.
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    tok.add_tokens(["<MASK>"])
    for t, i in ADDED_TOKENS.items():
        got = tok.convert_tokens_to_ids(t)
        assert got == i, f"{t} got id {got}, expected {i}"
        if len(lines) > i:
            assert lines[i] == t, f"vocab line {i} is {lines[i]!r}, expected {t!r}"
    assert len(tok) == BERT_VOCAB_SIZE + len(ADDED_TOKENS)
    return tok


def own_vocabulary_tokenizer(lines):
    """The tokenizer of a model's own vocabulary (docs/model-format.md): WordPiece over its
    lines, with [DEC], [ENC] and <MASK> added the way make_tokenizer adds them when the
    vocabulary holds them (they must then be its last lines, in that order, so that the ids HF
    gives the added tokens are their line numbers, as in the C tokenizer)."""
    added = [t for t in ADDED_TOKENS if t in lines]
    n_wp = len(lines) - len(added)
    if lines[n_wp:] != added:
        raise ValueError(f"own vocabulary: {added} must be its last lines, in that order")
    tok = _bert_tokenizer(lines[:n_wp])
    if "[DEC]" in added:
        tok.add_special_tokens({"bos_token": "[DEC]"})
    if "[ENC]" in added:
        tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    if "<MASK>" in added:
        tok.add_tokens(["<MASK>"])
    for i, t in enumerate(lines):
        got = tok.convert_tokens_to_ids(t)
        assert got == i, f"own vocabulary: {t!r} got id {got}, expected {i}"
    return tok


def bert_ids_of(lines):
    """The BERT ids (engine/data/vocab.txt) of a model's own vocabulary lines."""
    full = {t: i for i, t in enumerate(_read_lines(DEFAULT_VOCAB))}
    missing = [t for t in lines if t not in full]
    if missing:
        raise ValueError(f"own vocabulary: {len(missing)} tokens are not BERT tokens, e.g. {missing[:3]}")
    return [full[t] for t in lines]


_DEFAULT = None


def default_tokenizer():
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = make_tokenizer()
    return _DEFAULT


def encode(text, tok=None):
    """Ids of ``tokenizer(text, truncation=True, max_length=512)``: [CLS] pieces [SEP]."""
    tok = tok or default_tokenizer()
    return list(tok(text, truncation=True, max_length=MAX_LENGTH)["input_ids"])


def decode(ids, skip_special_tokens=True, tok=None):
    """tokenizer.decode with the clean-up the original relied on (transformers 4.37 default)."""
    tok = tok or default_tokenizer()
    ids = [int(i) for i in ids]
    if tok.convert_ids_to_tokens(ADDED_TOKENS["<MASK>"]) == "<MASK>":
        return tok.decode(ids, skip_special_tokens=skip_special_tokens,
                          clean_up_tokenization_spaces=True)
    # tokenizers >= 0.20 reports the *normalized* content "<mask>" for the normalized added token
    # <MASK>; the versions the original pins (transformers 4.37.2, tokenizers 0.15.2) keep
    # "<MASK>". Same steps as their decode, with that one token string restored: drop unknown
    # (and, if asked, special) ids, run the WordPiece decoder, then the string clean-up.
    special = set(tok.all_special_ids)
    tokens = []
    for i in ids:
        if skip_special_tokens and i in special:
            continue
        t = "<MASK>" if i == ADDED_TOKENS["<MASK>"] else tok.convert_ids_to_tokens(i)
        if t is not None:
            tokens.append(t)
    text = tok.backend_tokenizer.decoder.decode(tokens)
    return tok.clean_up_tokenization(text)


def load_labels(name):
    """Class names of 'coco' (80) or 'ade20k' (150), in the original order."""
    return _read_lines(os.path.join(LABELS_DIR, f"{name}.txt"))


def clean_caption(text):
    """mmdet CleanCaption._clean (inference spec §3.1 step 4)."""
    text = text.strip()
    text = text.translate(str.maketrans({ch: None for ch in string.punctuation}))
    text = re.sub(r"\s{2,}", " ", text)
    return text.lower()


def detection_prompt(num_bins, classes=None):
    """inference spec §4.1: COCO classes + 'background', comma-joined, then the bin range."""
    classes = list(classes if classes is not None else load_labels("coco")) + ["background"]
    return f"Task: detection; Class: {','.join(classes)}; Bin: 0 to {num_bins}"


def grounding_prompt(text):
    """inference spec §4.1; the expression is cleaned first (§3.1 step 4)."""
    return f"Task: grounding; Description: {clean_caption(text)}"


def caption_prompt():
    """inference spec §4.1."""
    return "Task: caption; Give a caption for this image:"


def instance_prompt(classes=None):
    """segmentation spec §1.3: instance_segmentation over the COCO classes, final period."""
    classes = classes if classes is not None else load_labels("coco")
    return f"Task: instance_segmentation; Class: {','.join(classes)}."


def semantic_prompt(classes=None):
    """segmentation spec §1.3: semantic_segmentation over the ADE20K classes, final period."""
    classes = classes if classes is not None else load_labels("ade20k")
    return f"Task: semantic_segmentation; Class: {','.join(classes)}."


if __name__ == "__main__":
    p = detection_prompt(2240)
    ids = encode(p)
    print(len(ids), ids[:12])
    print(decode(ids))
