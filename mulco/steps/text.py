"""What the corpus steps compare, and fast vectorised token / n-gram hashing.

* :func:`content` is the text of a record that dedup and decontamination look at: the input and
  the output, plus the instruction unless it is one of MulCo's instruction templates (a template
  is picked from the record id, so two copies of one example usually have different ones; what a
  converter appends to a template, such as the cloze max/min hint, is kept).
* :func:`tokenize` splits many texts at once with numpy (no Python loop per token): a token is a
  run of letters/digits/underscore, one CJK character (a Chinese sentence is not one token), or
  one other non-space character. ASCII letters are case-folded. Each token gets a 64-bit hash.
* :func:`features` computes, chunk by chunk (threads, bounded memory), the tokens, the hash of
  every run of ``n`` consecutive tokens of a record (a shingle), of every ``n`` consecutive
  words (punctuation left out), the hash of a record's whole token sequence (the exact-dedup
  key: equal for texts that differ only in whitespace or letter case) and MinHash signatures.

Hashes are deterministic (no ``hash()``, no seeds from the process), so builds are byte-identical.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..taxonomy import KINDS
from .hashing import U64, mix  # noqa: F401  (text's names too: answers and dedup use them)

SEP = "\n\x01\n"  # between instruction, input and output: a token of its own

# token classes of a code point
SPACE, WORD, PUNCT, CJK = 0, 1, 2, 3
_B = 0x100000001B3  # polynomial base for token hashes (odd, so it has an inverse mod 2**64)
_CHUNK_CHARS = 1 << 22  # texts are tokenised in chunks of about this many characters (bounded memory)
_MUL = [U64(x) for x in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                         0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)]


@functools.lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    t = np.full(0x10000, PUNCT, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        if ch.isspace() or cp == 0:
            t[cp] = SPACE
        elif ch.isalnum() or ch == "_":
            t[cp] = WORD
    t[0x3400:0xA000] = CJK
    t[0xF900:0xFB00] = CJK
    t[0x3040:0x3100] = CJK  # kana
    t[0xD800:0xE000] = PUNCT
    return t


@functools.lru_cache(maxsize=1)
def _fold_table() -> np.ndarray:
    t = np.arange(0x10000, dtype=np.uint32)
    t[ord("A"):ord("Z") + 1] += 32
    return t


@functools.lru_cache(maxsize=1)
def _fold_wide() -> np.ndarray:
    """:func:`_fold_table` as uint64 (the codes tokens are hashed from)."""
    return _fold_table().astype(np.uint64)


@functools.lru_cache(maxsize=1)
def _fold_ascii() -> np.ndarray:
    """uint64 code of each ASCII byte, letters case-folded (the one-byte path of :func:`_fold_table`)."""
    return _fold_table()[:128].astype(np.uint64)


@functools.lru_cache(maxsize=4)
def _powers(base: int, n: int) -> np.ndarray:
    a = np.full(n, U64(base), dtype=np.uint64)
    a[0] = 1
    return np.cumprod(a, dtype=np.uint64)


#: Words kept as they are when the identifiers of code are abstracted: the keywords (and a few
#: literal words) of the languages MulCo has, lower-cased (tokens are case-folded).
KEYWORDS = frozenset("""
abstract and as assert async await auto begin bool boolean break byte case catch char class const constexpr continue
def default defer del delete do double elif else elsif end ensure enum except explicit export extends extern
fallthrough false final finally float fn for foreach friend from func function global go goto if implements import
in inline instanceof int interface is lambda let long map module namespace new next nil none nonlocal not null
object operator or override package pass print private protected public raise range redo register rescue retry
return select self short signed sizeof static string struct super switch synchronized template then this throw
throws transient true try type typedef typename typeof union unless unsigned until using var virtual void volatile
when where while with yield echo elseif endif endforeach endwhile array list dict str bytes char insert update
delete from where join on group by order having limit values into create table drop alter primary key foreign
references distinct count sum avg min max like between exists union all any case when
""".split())
INSTRUCTION, INPUT, OUTPUT = 1, 2, 4
#: Which fields hold code, per task/subtask: their identifiers are abstracted for near dedup.
CODE_FIELDS = {k.subtask or k.task: sum({"instruction": INSTRUCTION, "input": INPUT, "output": OUTPUT}[f]
                                          for f in k.code_fields) for k in KINDS}


def code_fields(record: dict) -> int:
    return CODE_FIELDS.get(record.get("subtask") or record.get("task") or "", 0)


# --------------------------------------------------------------------------------------------
# The text a record is compared by


@functools.lru_cache(maxsize=2)
def _template_re(lang: str) -> re.Pattern:
    from .. import templates

    pats = []
    data = templates.load(lang)
    for options in data["instructions"].values():
        for t in options:
            parts = re.split(r"\{[a-z_]+\}", t)
            pats.append(r".{1,40}?".join(re.escape(p) for p in parts))
    pats.sort(key=len, reverse=True)
    notes = sorted((re.escape(n) for n in data.get("notes", {}).values()), key=len, reverse=True)
    tail = r"(?:\s*(?:" + "|".join(notes) + "))?" if notes else ""  # a template's appended note is template too
    return re.compile("(?:" + "|".join(pats) + ")" + tail, re.S)


@functools.lru_cache(maxsize=1 << 16)
def strip_template(instruction: str, lang: str) -> str:
    """The instruction without a leading MulCo template (what follows it is kept)."""
    try:
        m = _template_re(lang).match(instruction)
    except (KeyError, ValueError, FileNotFoundError):
        return instruction
    return instruction[m.end():].strip() if m else instruction


def content(record: dict) -> str:
    """What dedup and decontamination compare: [instruction unless a template] + input + output."""
    instr = record.get("instruction") or ""
    lang = record.get("lang")
    if lang in ("en", "zh"):
        instr = strip_template(instr, lang)
    return f"{instr}{SEP}{record.get('input') or ''}{SEP}{record.get('output') or ''}"


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass
class Tokens:
    """Tokens of ``n_texts`` texts, flat and in text order: ``hash[i]`` belongs to text ``text[i]``."""

    hash: np.ndarray  # uint64
    text: np.ndarray  # int64, non-decreasing
    word: np.ndarray  # bool: a letter/digit run or a CJK character (not punctuation)
    n_texts: int

    def counts(self) -> np.ndarray:
        return np.bincount(self.text, minlength=self.n_texts)

    def starts(self) -> np.ndarray:
        c = self.counts()
        return np.cumsum(c) - c

    def words(self) -> "Tokens":
        return Tokens(self.hash[self.word], self.text[self.word], self.word[self.word], self.n_texts)


def _tokenize_chunk(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    big = "\x00".join(texts) + "\x00"
    if big.isascii():
        arr = np.frombuffer(big.encode("ascii"), dtype=np.uint8)
        cls = _class_table()[:128][arr]
        code = _fold_ascii()[arr]
    else:
        arr = np.frombuffer(big.encode("utf-32-le"), dtype=np.uint32)
        astral = arr > 0xFFFF
        if astral.any():  # CJK extension planes are CJK; anything else astral is punctuation
            low = np.minimum(arr, 0xFFFF)
            cls = _class_table()[low]
            cls[astral] = np.where((arr[astral] >= 0x20000) & (arr[astral] < 0x30000), CJK, PUNCT)
            code = np.where(astral, arr, _fold_table()[low]).astype(np.uint64)
        else:  # the usual case: one table lookup each
            cls = _class_table()[arr]
            code = _fold_wide()[arr]
    n = len(code)
    nz = cls != SPACE
    start = np.empty(n, dtype=bool)
    start[0] = nz[0]
    start[1:] = nz[1:] & ((cls[1:] != cls[:-1]) | (cls[1:] >= PUNCT))
    end = np.zeros(n, dtype=bool)  # position of a token's last character
    end[:-1] = nz[:-1] & (~nz[1:] | start[1:])
    s = np.flatnonzero(start)
    e = np.flatnonzero(end)
    h = mix(_window(code, s, e + 1) + U64(0x9E3779B97F4A7C15))
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lens[:-1] + 1, out=starts[1:])
    text = np.searchsorted(starts, s, side="right") - 1
    word = cls[s] != PUNCT
    first = code[s]
    ident = (cls[s] == WORD) & ~((first >= 48) & (first <= 57))  # a word that does not start with a digit
    return h, text, word, ident


def _prefix(vals: np.ndarray) -> np.ndarray:
    """pref[i] = sum(vals[j] * B**j for j < i) mod 2**64."""
    n = len(vals)
    pref = np.empty(n + 1, dtype=np.uint64)
    pref[0] = 0
    np.multiply(vals, _powers(_B, _CHUNK_CHARS + 2)[:n], out=pref[1:])  # in place: no temporary array
    np.cumsum(pref[1:], out=pref[1:])
    return pref


def _window(vals: np.ndarray, lo: np.ndarray, hi: np.ndarray, pref: np.ndarray | None = None) -> np.ndarray:
    """sum(vals[j] * B**(j - lo) for j in [lo, hi)) for every (lo, hi), mod 2**64, via prefix sums."""
    if pref is None:
        pref = _prefix(vals)
    out = pref[hi]
    out -= pref[lo]
    out *= _powers(pow(_B, -1, 2**64), _CHUNK_CHARS + 2)[lo]
    return out


def _chunks(texts: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of texts of about _CHUNK_CHARS characters; a long run of ASCII-only texts gets its own
    spans (they take the fast one-byte path)."""
    ascii_ = [t.isascii() for t in texts]
    # runs shorter than 64 texts count as non-ASCII, so alternating EN/ZH texts are not split up
    kind, i, n = [], 0, len(texts)
    while i < n:
        j = i
        while j < n and ascii_[j] == ascii_[i]:
            j += 1
        k = ascii_[i] and j - i >= 64
        kind.extend([k] * (j - i))
        i = j
    out, i = [], 0
    while i < n:
        j, total = i, 0
        while j < n and (j == i or (total + len(texts[j]) + 1 <= _CHUNK_CHARS and kind[j] == kind[i])):
            total += len(texts[j]) + 1
            j += 1
        out.append((i, j))
        i = j
    return out


def _windows(tok_h: np.ndarray, text: np.ndarray, counts: np.ndarray, starts: np.ndarray, n: int, short: bool,
             pref: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of all n-token windows inside a text (+ one per short text when ``short``)."""
    T = len(tok_h)
    if T == 0:
        return tok_h, text
    pos = np.arange(T) - starts[text]
    lo = np.flatnonzero(pos + n <= counts[text])
    hi = lo + n
    if short:
        sh = np.flatnonzero((counts > 0) & (counts < n))
        if len(sh):
            lo = np.concatenate((lo, starts[sh]))
            hi = np.concatenate((hi, starts[sh] + counts[sh]))
            order = np.argsort(lo, kind="stable")
            lo, hi = lo[order], hi[order]
    w = _window(tok_h, lo, hi, pref)
    return mix(w ^ (hi - lo).astype(np.uint64)), text[lo]


@dataclass
class Features:
    """Everything the corpus steps compare, computed in one pass per chunk of texts. Text ids are
    int32 (memory); ``tokens`` and ``shingles`` are kept only when asked for (``keep=True``)."""

    anchors: tuple[np.ndarray, np.ndarray]  # (hash, text) of every ``shingle_n``-token window as written
    word_ngrams: tuple[np.ndarray, np.ndarray]  # (hash, text) of every ``word_n``-word window
    exact_keys: np.ndarray  # one per text: its whole token sequence
    #: (n_texts, num_perm) uint32 MinHash of ``shingles``, or None; the corpus' are a
    #: :class:`mulco.steps.minhash.SignatureFile` (on disk: ``sig[a:b]``, ``sig[rows]``)
    signatures: np.ndarray | None
    tokens: Tokens | None = None
    #: (hash, text): the near-dedup set of each text: every ``shingle_n``-token window, with the
    #: variables of code fields (identifiers used more than once in the field) replaced by one
    #: placeholder, plus each such variable alone (so renaming a variable changes a few
    #: elements, not every window it is in)
    shingles: tuple[np.ndarray, np.ndarray] | None = None
    #: per text: it has at least one shingle (a signature not all EMPTY); None: read ``signatures``
    usable: np.ndarray | None = None
    #: (bands, rows) of ``band_hashes``, the (n_texts, bands) LSH band hashes of the signatures
    #: (:func:`mulco.steps.minhash.band_hashes`) when computed with the features, else None
    lsh: tuple[int, int] | None = None
    band_hashes: np.ndarray | None = None


@functools.lru_cache(maxsize=1)
def _special_hashes() -> tuple[np.ndarray, int]:
    """(sorted hashes of KEYWORDS, hash of the field separator token)."""
    kw = sorted(KEYWORDS)
    h, t, _, _ = _tokenize_chunk(kw + ["\x01"])
    first = np.searchsorted(t, np.arange(len(kw) + 1))
    return np.unique(h[first[:-1]]), int(h[first[-1]])


def separator_hash() -> int:
    """The hash of the token between the fields of a :func:`content` text (``SEP``)."""
    return _special_hashes()[1]


_ID = U64(0x5EED1D5EED1D5EED)  # the placeholder of an abstracted identifier
_UNI = U64(0x0DDBA11CAFEF00D5)  # tags an identifier used alone


def _only(h: np.ndarray, t: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The (hash, text) pairs whose hash is in the sorted array ``keep`` (None: all), in order."""
    if keep is None:
        return h, t
    if not len(keep) or not len(h):
        return h[:0], t[:0]
    bits = 1 << max(16, min(24, (len(keep) * 16).bit_length()))  # a bitmap of the top bits rules most out
    shift = U64(64 - (bits.bit_length() - 1))
    bitmap = np.zeros(bits, dtype=bool)
    bitmap[(keep >> shift).view(np.int64)] = True
    maybe = np.flatnonzero(bitmap[(h >> shift).view(np.int64)])
    j = np.minimum(np.searchsorted(keep, h[maybe]), len(keep) - 1)
    sel = maybe[keep[j] == h[maybe]]
    return h[sel], t[sel]


def _variables(h: np.ndarray, t: np.ndarray, ident: np.ndarray, fields, starts: np.ndarray) -> np.ndarray:
    """Which tokens are variables of a code field: identifiers (not keywords) used more than once in
    their field (see :attr:`Features.shingles`)."""
    kw, sep = _special_hashes()
    is_sep = h == U64(sep)
    before = np.cumsum(is_sep) - is_sep  # separators before each token, in the chunk
    field = np.minimum(before - (before[starts] if len(starts) else 0)[t], 2)
    code = (np.asarray(fields, dtype=np.int64)[t] >> field) & 1
    cand = np.flatnonzero(ident & (code == 1))
    j = np.minimum(np.searchsorted(kw, h[cand]), len(kw) - 1)
    cand = cand[kw[j] != h[cand]]  # keywords stay as written
    # a variable is used more than once in its field; a name used once (a called API, a field)
    # stays as written, so two functions differing in it stay different
    kk = mix(h[cand] ^ (t[cand].astype(np.uint64) * U64(0x9E3779B97F4A7C15) + field[cand].astype(np.uint64)))
    order = np.argsort(kk, kind="stable")
    ks = kk[order]
    new_run = np.concatenate(([True], ks[1:] != ks[:-1])) if len(ks) else np.zeros(0, dtype=bool)
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id) if len(ks) else np.zeros(0, dtype=np.int64)
    multi = np.zeros(len(cand), dtype=bool)
    multi[order] = run_len[run_id] >= 2
    abstract = np.zeros(len(h), dtype=bool)
    abstract[cand[multi]] = True
    return abstract


def _features_chunk(texts, fields, offset: int, shingle_n: int, word_n: int, num_perm: int, seed: int, keep: bool,
                    anchor_filter: np.ndarray | None = None, word_filter=None):
    from .minhash import signatures

    h, t, w, ident = _tokenize_chunk(texts)
    m = len(texts)
    counts = np.bincount(t, minlength=m)
    starts = np.cumsum(counts) - counts
    keys = np.zeros(m, dtype=np.uint64)
    has = counts > 0
    pref = _prefix(h)
    if len(h):
        keys[has] = mix(_window(h, starts[has], starts[has] + counts[has], pref) ^ counts[has].astype(np.uint64))
    windows = None  # every shingle_n-token window as written, computed when needed
    if anchor_filter is None or len(anchor_filter):
        windows = _windows(h, t, counts, starts, shingle_n, short=True, pref=pref)
        ah, at = _only(*windows, anchor_filter)
    else:
        ah, at = h[:0], t[:0]  # no anchor is kept: none is computed
    if not (num_perm or keep):
        sh, st = h[:0], t[:0]  # nothing reads the shingles
    elif fields is not None and len(h):
        abstract = _variables(h, t, ident, fields, starts)
        sh, st = _windows(np.where(abstract, _ID, h), t, counts, starts, shingle_n, short=True)
        sh = np.concatenate((sh, mix(h[abstract] ^ _UNI)))
        st = np.concatenate((st, t[abstract]))
    else:
        sh, st = windows if windows is not None else _windows(h, t, counts, starts, shingle_n, short=True, pref=pref)
    if word_n:
        wh, wt = h[w], t[w]
        wc = np.bincount(wt, minlength=m)
        wn, wnt = _windows(wh, wt, wc, np.cumsum(wc) - wc, word_n, short=False)
        if word_filter is not None:
            ok = word_filter(wn, wnt + offset)
            wn, wnt = wn[ok], wnt[ok]
    else:
        wn, wnt = h[:0], t[:0]
    sig = signatures(sh, st, m, num_perm=num_perm, seed=seed) if num_perm else None
    i32 = np.int32
    out = {"anchors": (ah, (at + offset).astype(i32)), "word_ngrams": (wn, (wnt + offset).astype(i32)),
           "exact_keys": keys, "signatures": sig}
    if keep:
        out["tokens"] = (h, t + offset, w)
        out["shingles"] = (sh, st + offset)
    return out


def features(texts: Sequence[str], shingle_n: int = 5, word_n: int = 13, num_perm: int = 128, seed: int = 1,
             threads: int = 1, fields: Sequence[int] | None = None, keep: bool = False,
             anchor_filter: np.ndarray | None = None, word_filter=None) -> Features:
    """Tokens, shingles, word n-grams, exact keys and MinHash signatures of ``texts``, computed
    chunk by chunk (bounded temporary memory); numpy releases the GIL, so ``threads`` > 1 runs
    chunks in parallel. The result does not depend on ``threads``. ``fields`` gives per text the
    fields holding code (bits INSTRUCTION, INPUT, OUTPUT of a :func:`content` text), whose
    identifiers are abstracted in the near-dedup shingles. ``anchor_filter`` (sorted uint64): keep
    only these anchors (an empty one: none, not computed); ``word_n`` 0: no word n-grams;
    ``word_filter(hashes, texts) -> bool mask``: keep only the word n-grams it marks (``texts``:
    their index in ``texts``; called from the threads, so it must only read)."""
    texts = [t if len(t) < _CHUNK_CHARS else t[:_CHUNK_CHARS - 1] for t in texts]
    spans = _chunks(texts)

    def run(span):
        i, j = span
        return _features_chunk(texts[i:j], None if fields is None else fields[i:j], i, shingle_n, word_n, num_perm,
                               seed, keep, anchor_filter, word_filter)

    if threads > 1 and len(spans) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as ex:
            parts = list(ex.map(run, spans))
    else:
        parts = [run(s) for s in spans]
    if not parts:
        parts = [_features_chunk([""], None, 0, shingle_n, word_n, num_perm, seed, keep)]
        n_empty = True
    else:
        n_empty = False

    def cat(key, k):
        return np.concatenate([p[key][k] for p in parts])

    sig = np.concatenate([p["signatures"] for p in parts]) if num_perm else None
    keys = np.concatenate([p["exact_keys"] for p in parts])
    f = Features((cat("anchors", 0), cat("anchors", 1)), (cat("word_ngrams", 0), cat("word_ngrams", 1)), keys, sig)
    if keep:
        f.tokens = Tokens(cat("tokens", 0), cat("tokens", 1), cat("tokens", 2), len(texts))
        f.shingles = (cat("shingles", 0), cat("shingles", 1))
    if n_empty:
        z64, z32 = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
        f = Features((z64, z32), (z64, z32), z64, sig[:0] if sig is not None else None,
                     Tokens(z64, z32.astype(np.int64), np.zeros(0, dtype=bool), 0) if keep else None,
                     (z64, z32) if keep else None)
    return f


def tokenize(texts: Sequence[str]) -> Tokens:
    """Tokens of ``texts`` (see the module docstring)."""
    texts = [t if len(t) < _CHUNK_CHARS else t[:_CHUNK_CHARS - 1] for t in texts]
    parts = []
    for i, j in _chunks(texts):
        h, t, w, _ = _tokenize_chunk(texts[i:j])
        parts.append((h, t + i, w))
    if not parts:
        return Tokens(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), 0)
    return Tokens(*(np.concatenate([p[k] for p in parts]) for k in range(3)), len(texts))


def ngrams(tok: Tokens, n: int, short: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(hash, text) of every ``n`` consecutive tokens of each text. A text with fewer than ``n``
    (but some) tokens gives one hash of all its tokens when ``short``, else nothing. The same
    hashes as :func:`features` computes."""
    counts = tok.counts()
    out_h, out_t = [], []
    # in chunks of tokens aligned on texts, so the power tables stay within their size
    starts = np.cumsum(counts) - counts
    i = 0
    while i < tok.n_texts:
        j = int(np.searchsorted(starts, starts[i] + _CHUNK_CHARS // 2, side="right"))
        j = max(j, i + 1)
        lo, hi = starts[i], (starts[j] if j < tok.n_texts else len(tok.hash))
        c = counts[i:j]
        h, t = _windows(tok.hash[lo:hi], tok.text[lo:hi] - i, c, np.cumsum(c) - c, n, short)
        out_h.append(h)
        out_t.append(t + i)
        i = j
    if not out_h:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_h), np.concatenate(out_t)
