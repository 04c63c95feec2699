#!/usr/bin/env python3
"""Write the tokenizer fixtures of tests/data/tokenizer/ from the HuggingFace reference tokenizer.

    python3 tools/reference/make_tokenizer_fixtures.py [OUT_DIR]

Output (JSON lines, UTF-8, one object per line):
  encode.jsonl  {"text": str, "ids": [int]}          tokenizer(text, truncation=True, max_length=512)
  decode.jsonl  {"ids": [int], "skip": str, "keep": str}
                decode(ids, skip_special_tokens=True / False, clean_up_tokenization_spaces=True),
                for every encoded id list and for random id sequences
  codepoints.txt  HF normalizer on every code point U+0001..U+10FFFF (no surrogates), listing
                only the exceptions to three rules (see write_codepoints)
  meta.json     versions of transformers/tokenizers, counts, detection prompt facts

The committed fixtures were made with the versions the original code pins (transformers 4.37.2,
tokenizers 0.15.2; inference spec §0 item 2), see docs/tokenizer.md. Everything is deterministic
(fixed seeds, no dependence on the clock).
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tokenizers  # noqa: E402
import transformers  # noqa: E402

import ufo_tokenizer as U  # noqa: E402

SEED = 20240611

WORDS = (
    "a an the man woman person people child boy girl dog cat horse bird car bus train truck boat "
    "plane bike street road table chair bed couch kitchen room window door tree grass sky water beach "
    "snow field building city sign light pizza cake sandwich banana apple orange cup bottle glass "
    "phone laptop tv book clock vase umbrella bag frisbee kite ball skateboard surfboard ski tennis "
    "racket baseball bat glove player team game red blue green white black yellow brown large small "
    "little big young old tall two three several many some front back left right middle top bottom "
    "next near behind under over on in at with of and is are sitting standing walking riding "
    "holding playing eating looking flying parked lying running jumping carrying wearing shirt hat "
    "jacket helmet giraffe elephant zebra sheep cow bear teddy toilet sink oven refrigerator "
    "microwave toaster scissors toothbrush hydrant bench"
).split()

CONTRACTIONS = [
    "don't", "doesn't", "isn't", "can't", "won't", "it's", "I'm", "they've", "we're", "you're",
    "he's", "she'd", "let's", "o'clock", "rock 'n' roll", "do not", "'quoted'", "' spaced '",
]

PUNCT_RUNS = [
    "!!!", "???", "...", "?!?!", "---", "--", "—–-", "@#$%^&*()", "a.b,c;d:e", "'''", '"""',
    "`~", "\\", "[]{}<>", "((()))", "a - b", "x/y", "1/2", "e.g.", "i.e.,", "U.S.A.", "...hello...",
    ",,,", " , , ", ". . .", "?.!,", "#hashtag", "@user", "http://example.com/a?b=c&d=e",
    "user@example.com", "C++", "C#", "a_b_c", "__init__", "~/path/to/file.txt", "$HOME", "50%",
    "#1", "+1", "-1", "±", "§3.1", "¶", "•", "·", "¿qué?", "¡hola!", "«guillemets»", "„low“",
    "“curly” ‘quotes’", "…", "‹›", "†‡", "‰", "′″", "※", "〜", "、。", "「」", "『』", "【】", "！？",
    "（）", "：；", "，", "＂＇", "＃＄％", "＆", "＊＋", "／", "＜＝＞", "＠", "［＼］", "＾＿｀", "｛｜｝～",
]

NUMBERS = [
    "2240", "12,345", "1,000,000", "3.14159", "1e10", "-42", "0", "007", "1234567890",
    "99.9%", "224 448 672", "0 to 2240", "Bin: 0 to 1000", "1120", "4480", "10000000000000000",
    "12,34,56,78", "0,0,2240,2240", "person,12,45,300,400", "1st 2nd 3rd 4th", "1990s", "24/7",
    "3:30pm", "10:45", "2023-11-23", "v1.2.3", "x2", "2x", "١٢٣", "१२३", "๑๒๓", "½", "²³", "①②",
    "Ⅻ", "ⅷ",
]

ADDED_IN_TEXT = [
    "<MASK>", "<mask>", "<Mask>", "< MASK >", "<MASK><MASK>", "<MASK> <MASK> <MASK>", "a<MASK>b",
    "x <MASK>, y", "<MASK>,<MASK>", "<<MASK>>", "<MASK", "MASK>", "<MASKS>", "<MÁSK>", "<MA\x01SK>",
    "<MA\u200bSK>", "<MA SK>", "＜MASK＞", "[DEC]", "[dec]", "[Dec]", "[ENC]", "[enc]", "[SEP]",
    "[sep]", "[CLS] hi [SEP]", "[PAD]", "[UNK]", "[unk]", "[MASK]", "[mask]", "[DE\x01C]",
    "[DEC][ENC]<MASK>", "[[SEP]]", "[SEP[SEP]]", "a[SEP]b", "word[DEC]word", "[DEC]<MASK>[ENC]",
    "person <MASK> car", "Task: instance_segmentation; <MASK>", "<MASK>" * 20, "[SEP]" * 10,
    "[CLS][SEP][PAD][UNK][MASK]", " [DEC] ", "<mask>.", "<MASK>!", "##", "##,", "## ,", "#", "##a",
    "[ SEP ]", "[SEP ]", "<MASK>\u0301", "<MASK>é", "é<MASK>", "中<MASK>中", "<MASK>😀",
]

UNICODE = [
    "café", "naïve", "Ångström", "résumé", "Zürich", "São Paulo", "ÉCOLE", "Crème Brûlée",
    "façade", "Mötley Crüe", "ÀÁÂÃÄÅ àáâãäå", "Ñandú", "Øresund", "Łódź", "Dvořák", "Đặng Thị",
    "e\u0301", "E\u0301\u0302", "a\u0308\u0304", "\u0301abc", "İstanbul", "ı", "ß", "ẞ", "ﬁ ﬂ",
    "ＡＢＣ ａｂｃ", "ΣΟΦΙΑ σοφία", "ΟΔΟΣ", "Ωμέγα", "Привет мир", "ЁЖИК", "مرحبا بالعالم",
    "שָׁלוֹם", "नमस्ते दुनिया", "สวัสดีครับ", "안녕하세요 세계", "こんにちは世界", "カタカナ ﾊﾝｶｸ",
    "我爱北京天安门", "猫が好きです", "漢字かな交じり文", "你好，世界！", "中文English混合", "𠀀𠀁 𪜀 𫝀 𫠠 𬺰",
    "丽 (U+F900)", "⺀ ⼀ 〇", "ㄅㄆㄇ", "😀", "👍🏽", "🇺🇸", "👨‍👩‍👧", "🥰🦄🧠", "❤️", "☺︎", "©®™",
    "€10 £3 ¥500 ₹99 ₿", "x² + y² = z²", "∑∫∂√∞≈≠≤≥", "→←↑↓", "♠♣♥♦", "♪♫", "🀄", "🂡",
    "\u00ad", "soft\u00adhyphen", "zero\u200bwidth", "join\u200dme", "non\u200cjoin", "\ufeffbom",
    "word\u2060joiner", "\u180e", "a\u180eb", "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd",
    "\ufffd", "a\ufffdb", "\u0600\u0601", "\u061c", "\u08e2", "\U000110cd", "\u0890",
    "\u1734", "a\u1734b", "\U000111c9", "\u166d", "\U0001e944", "\U0001e95e", "\u2e4f", "\u2e52",
    "\U00011f00", "\U00030000", "\U0002b820", "\U0002ceb0", "\U0002ebe0", "\U0001f970",
    "\u2028line\u2029para", "nbsp\u00a0here", "ideo\u3000space", "thin\u2009space", "\u1680ogham",
    "\u202fnarrow", "\u205fmath", "\u0085nel", "\u000bvt\u000cff", "\x1c\x1d\x1e\x1f", "\x7f",
    "\x01\x02\x03", "a\tb\nc\rd", "tab\tsep", "\x80\x9f", "ǅ ǈ ǋ", "ᾼ ῌ ῼ", "Ⅷ", "ℌℍ", "K Å",
    "\u0345", "\u0307", "\u05bf", "\u0e31", "\u302a", "\u3099\u309a", "が", "ガ", "é" * 120,
    "\u0301" * 5, "Ǆ", "ﬀ", "ǰ", "ΐ", "ﬓ", "İİ", "Σ", "ΑΣ", "ΑΣ Β",
]

EMPTY = ["", " ", "   ", "\t", "\n", "\t\n\r ", "\u3000", "\u00a0", "\u200b", "\x01", "\ufffd",
         "\u00ad", " \u200b ", "\x0b", "\x0c"]

REFERRING = [
    "the man on the left", "woman in red shirt", "left dog", "Guy in the BLUE jacket!",
    "the second car from the right, parked", "umbrella held by the girl (pink)",
    "front most zebra", "kid w/ hat", "bottom-left pizza slice", "the one that's eating",
    "giraffe #2", "person @ the back", "tall tree; far right", "a cat:sleeping", "  spaces   here  ",
    "Élan café table", "中间的人", "the 3rd banana from top", "don't pick the left one",
]


def captions(rng, n):
    out = []
    for _ in range(n):
        k = rng.randint(3, 16)
        words = [rng.choice(WORDS) for _ in range(k)]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(CONTRACTIONS))
        s = " ".join(words)
        r = rng.random()
        if r < 0.4:
            s = s[0].upper() + s[1:] + "."
        elif r < 0.55:
            s = s + " ."
        elif r < 0.65:
            s = s.upper() + "!"
        elif r < 0.75:
            s = s.replace(" ", ", ", 1) + "?"
        out.append(s)
    return out


def random_ascii(rng, n):
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\n"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def random_unicode(rng, n):
    # Code point ranges chosen to hit many categories: Latin-1/Extended, Greek, Cyrillic, combining
    # marks, Indic, Thai, CJK, Hangul, symbols, emoji, private use, new (post Unicode 8) blocks.
    ranges = [
        (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
        (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1680, 0x1AFF), (0x1DC0, 0x1DFF),
        (0x2000, 0x206F), (0x20A0, 0x2BFF), (0x2E00, 0x2E5D), (0x3000, 0x30FF), (0x3400, 0x3420),
        (0x4E00, 0x4F00), (0xAC00, 0xAD00), (0xE000, 0xE010), (0xF900, 0xF910), (0xFB00, 0xFB4F),
        (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0x10000, 0x1007F), (0x11000, 0x1107F),
        (0x11900, 0x1195F), (0x1D400, 0x1D4FF), (0x1E900, 0x1E95F), (0x1F300, 0x1FAFF),
        (0x20000, 0x20010), (0x2A700, 0x2A710), (0x2B820, 0x2B830), (0x2F800, 0x2F810),
        (0x30000, 0x30010), (0xF0000, 0xF0010),
    ]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 12)):
            lo, hi = rng.choice(ranges)
            c = rng.randint(lo, hi)
            if 0xD800 <= c <= 0xDFFF or c == 0:
                continue
            chars.append(chr(c))
            if rng.random() < 0.2:
                chars.append(" ")
        out.append("".join(chars))
    return out


def random_vocab_text(rng, tok, n):
    # Text made of vocabulary entries (also ## pieces written literally), mixed case.
    vocab = [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])][: U.BERT_VOCAB_SIZE]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 10)):
            t = rng.choice(vocab)
            if rng.random() < 0.2:
                t = t.upper()
            parts.append(t)
        sep = rng.choice([" ", "", " ", ",", " - "])
        out.append(sep.join(parts))
    return out


def long_strings(rng):
    coco = U.load_labels("coco")
    ade = U.load_labels("ade20k")
    return [
        " ".join(rng.choice(WORDS) for _ in range(600)),
        ",".join(coco * 4),
        U.semantic_prompt(ade * 2),
        U.detection_prompt(2240, coco + ade),
        "word " * 509,
        "word " * 510,
        "word " * 511,
        "a," * 300,
        "中" * 600,
        "😀 " * 600,
        "<MASK>" * 600,
        "[SEP] " * 600,
        "x" * 100,
        "x" * 101,
        "y" * 150 + " ok",
        "é" * 100,
        "é" * 101,
        "1" * 300,
        "12,345 " * 200,
        "supercalifragilisticexpialidocious " * 30,
        " ".join(str(rng.randint(0, 2240)) for _ in range(700)),
    ]


def prompts():
    coco = U.load_labels("coco")
    ade = U.load_labels("ade20k")
    out = []
    for nb in (2240, 1000, 1120, 448, 4480, 0, 1, 99999):
        out.append(U.detection_prompt(nb))
    out.append(U.detection_prompt(2240, ade))
    out += [U.instance_prompt(), U.semantic_prompt(), U.instance_prompt(ade), U.semantic_prompt(coco)]
    out.append(U.caption_prompt())
    for r in REFERRING:
        out.append(U.grounding_prompt(r))
        out.append("Task: grounding; Description: " + r)  # uncleaned variant
    for name in coco + ade:
        out += [name, name.upper(), name.title(), f"a photo of a {name}."]
    return out


def random_id_sequences(rng, tok, n):
    # Sorted by id: get_vocab()'s order differs between transformers versions.
    vocab = dict(sorted(tok.get_vocab().items(), key=lambda kv: kv[1]))
    hash_ids = [i for t, i in vocab.items() if t.startswith("##") and i < U.BERT_VOCAB_SIZE]
    num_ids = [i for t, i in vocab.items() if t.isdigit() and i < U.BERT_VOCAB_SIZE]
    hash_num_ids = [i for t, i in vocab.items() if t.startswith("##") and t[2:].isdigit()]
    punct_ids = [i for t, i in vocab.items() if len(t) == 1 and not t.isalnum() and i < U.BERT_VOCAB_SIZE]
    apos = [vocab[t] for t in ["'", "s", "m", "t", "n", "ve", "re", "do", "not", "don"]]
    special = [0, 100, 101, 102, 103, 30522, 30523]
    seqs = []
    for k in range(n):
        kind = k % 8
        L = rng.randint(1, 24)
        if kind == 0:
            s = [rng.randrange(U.BERT_VOCAB_SIZE + 3) for _ in range(L)]
        elif kind == 1:
            s = [rng.choice(hash_ids)] + [rng.randrange(U.BERT_VOCAB_SIZE + 3) for _ in range(L)]
        elif kind == 2:
            s = []
            for _ in range(L):
                s.append(rng.choice(num_ids))
                s += [rng.choice(hash_num_ids) for _ in range(rng.randint(0, 2))]
                s.append(rng.choice([1010, 29623, 1010]))
        elif kind == 3:
            s = [30524] * rng.randint(1, 16) + [rng.choice([1010, 29623, 102, 2711])] + [30524] * rng.randint(0, 5)
        elif kind == 4:
            s = [rng.choice(special + [30524, 1010, 29623]) for _ in range(L)]
        elif kind == 5:
            s = [rng.choice(punct_ids + [1010, 29623]) for _ in range(L)]
        elif kind == 6:
            s = [rng.choice(apos + punct_ids[:10] + [1012, 1029, 999]) for _ in range(L)]
        else:
            s = [101] + [rng.choice(num_ids + hash_num_ids + [1010, 29623, 2711, 102]) for _ in range(L)] + [102]
        seqs.append(s)
    seqs += [[], [101], [102], [101, 102], [29623], [1010], [30524], [0, 0, 0], [100]]
    return seqs


def _is_cjk(c):
    return any(lo <= c <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def _is_private_use(c):
    return 0xE000 <= c <= 0xF8FF or 0xF0000 <= c <= 0xFFFFD or 0x100000 <= c <= 0x10FFFD


def write_codepoints(path, tok):
    """For every code point c: n = normalizer(chr(c)) and the number of pre-tokenizer words of
    'a' + n + 'a'. Written only where the result is not the rule's: CJK ideographs -> ' c ', 3
    words; private use -> '', 0 words; anything else -> c itself, 1 word.
    Line format: 'HEX NORM_UTF8_HEX WORDS' (NORM_UTF8_HEX is '-' for the empty string)."""
    b = tok.backend_tokenizer
    lines = []
    count = 0
    for c in range(1, 0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        count += 1
        ch = chr(c)
        n = b.normalizer.normalize_str(ch)
        words = len(b.pre_tokenizer.pre_tokenize_str("a" + n + "a")) if n else 0
        if _is_cjk(c):
            rule = (" " + ch + " ", 3)
        elif _is_private_use(c):
            rule = ("", 0)
        else:
            rule = (ch, 1)
        if (n, words) != rule:
            lines.append(f"{c:X} {n.encode('utf-8').hex() or '-'} {words}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return count, len(lines)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(U.REPO_ROOT, "tests", "data", "tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    tok = U.make_tokenizer()
    rng = random.Random(SEED)

    texts = []
    texts += prompts()
    texts += captions(rng, 400)
    texts += [U.clean_caption(t) for t in captions(rng, 60)]
    texts += CONTRACTIONS + PUNCT_RUNS + NUMBERS + ADDED_IN_TEXT + UNICODE + EMPTY + REFERRING
    texts += [str(rng.randint(0, 10**rng.randint(1, 12))) for _ in range(80)]
    texts += random_ascii(rng, 300)
    texts += random_unicode(rng, 300)
    texts += random_vocab_text(rng, tok, 200)
    texts += long_strings(rng)
    seen = set()
    texts = [t for t in texts if not (t in seen or seen.add(t))]
    assert all("\x00" not in t for t in texts)

    n_trunc = 0
    enc_lines, dec_lines = [], []
    for t in texts:
        ids = U.encode(t, tok)
        full = tok(t)["input_ids"]
        n_trunc += len(full) > U.MAX_LENGTH
        enc_lines.append(json.dumps({"text": t, "ids": ids}, ensure_ascii=False))
    id_seqs = [json.loads(line)["ids"] for line in enc_lines] + random_id_sequences(rng, tok, 400)
    for ids in id_seqs:
        dec_lines.append(json.dumps({"ids": ids, "skip": U.decode(ids, True, tok),
                                     "keep": U.decode(ids, False, tok)}, ensure_ascii=False))

    with open(os.path.join(out_dir, "encode.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(enc_lines) + "\n")
    with open(os.path.join(out_dir, "decode.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(dec_lines) + "\n")

    n_cp, n_cp_exc = write_codepoints(os.path.join(out_dir, "codepoints.txt"), tok)

    det = U.encode(U.detection_prompt(2240), tok)
    meta = {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "tokenizer_class": type(tok).__name__,
        "seed": SEED,
        "encode_count": len(enc_lines),
        "encode_truncated_count": n_trunc,
        "decode_count": len(dec_lines),
        "codepoints_checked": n_cp,
        "codepoints_exceptions": n_cp_exc,
        "detection_prompt_2240_tokens": len(det),
        "detection_prompt_2240_first_ids": det[:12],
    }
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
