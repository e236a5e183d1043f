#!/usr/bin/env python3
"""An independent verifier for asom ledger artifacts, written from the specs.

It shares no code with asom and uses the Python standard library only (hashlib
for SHA-256/SHA-512, base64, json). Ed25519 verification is implemented here
from RFC 8032 section 5.1 with Python integers.

Specifications implemented:

- C2SP signed-note        (https://c2sp.org/signed-note), Ed25519 type 0x01
- C2SP tlog-checkpoint    (https://c2sp.org/tlog-checkpoint)
- C2SP tlog-proof@v1      (https://c2sp.org/tlog-proof)
- RFC 9162 section 2.1    Merkle tree hashing, inclusion (2.1.3.2) and
                          consistency (2.1.4.2) proof verification
- RFC 8785                JSON Canonicalization Scheme (JCS), I-JSON input
- RFC 8032 section 5.1    Ed25519 signature verification

Subcommands (exit 0 and "OK ..." on standard output when the artifact
verifies, exit 1 and "FAIL: <reason>" on standard error when it does not,
exit 2 on a usage error):

  receipt     --key VKEY --entry FILE --receipt FILE [--origin ORIGIN]
  consistency --key VKEY --old FILE --new FILE --proof FILE [--origin ORIGIN]
  checkpoint  --key VKEY FILE [--origin ORIGIN]
  note        --key VKEY FILE
  entry       FILE...      (one "OK entry <id> ..." line per file)
  selftest    [--vectors DIR]

VKEY is a verifier key in note format, "<name>+<hex key id>+<base64(0x01 ||
32-byte public key)>", or "@PATH" to read it from a file.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass


class VerifyError(Exception):
    """The artifact does not verify; the message says why."""


# ---------------------------------------------------------------------------
# Ed25519 verification, RFC 8032 section 5.1 (verification only).
# ---------------------------------------------------------------------------

ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = (-121665 * pow(121666, ED_P - 2, ED_P)) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _ed_inv(x: int) -> int:
    return pow(x, ED_P - 2, ED_P)


def _ed_add(p1: tuple, p2: tuple) -> tuple:
    """Point addition in extended coordinates (X, Y, Z, T), RFC 8032 5.1.4.

    The formula is complete on edwards25519, so it also doubles.
    """
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % ED_P
    b = (y1 + x1) * (y2 + x2) % ED_P
    c = t1 * 2 * ED_D * t2 % ED_P
    d = z1 * 2 * z2 % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


ED_IDENTITY = (0, 1, 1, 0)


def _ed_mul(scalar: int, point: tuple) -> tuple:
    result = ED_IDENTITY
    addend = point
    while scalar > 0:
        if scalar & 1:
            result = _ed_add(result, addend)
        addend = _ed_add(addend, addend)
        scalar >>= 1
    return result


def _ed_equal(p1: tuple, p2: tuple) -> bool:
    x1, y1, z1, _ = p1
    x2, y2, z2, _ = p2
    return (x1 * z2 - x2 * z1) % ED_P == 0 and (y1 * z2 - y2 * z1) % ED_P == 0


def _ed_decode_point(data: bytes) -> tuple | None:
    """RFC 8032 5.1.3: decode a 32-byte point; None if it is not a valid encoding."""
    if len(data) != 32:
        return None
    as_int = int.from_bytes(data, "little")
    x_0 = as_int >> 255
    y = as_int & ((1 << 255) - 1)
    # Step 1: the y coordinate must be canonical (less than p).
    if y >= ED_P:
        return None
    # Step 2: x^2 = (y^2 - 1) / (d y^2 + 1); candidate root x = (u/v)^((p+3)/8).
    u = (y * y - 1) % ED_P
    v = (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    # Step 3: fix up or reject the root.
    vxx = v * x * x % ED_P
    if vxx == u:
        pass
    elif vxx == (-u) % ED_P:
        x = x * ED_SQRT_M1 % ED_P
    else:
        return None
    # Step 4: choose the root by the sign bit.
    if x == 0 and x_0 == 1:
        return None
    if x & 1 != x_0:
        x = ED_P - x
    return (x, y, 1, x * y % ED_P)


# The base point B: y = 4/5, x even (positive), RFC 8032 5.1.
ED_B = _ed_decode_point(((4 * _ed_inv(5)) % ED_P).to_bytes(32, "little"))
assert ED_B is not None
assert ED_B[0] == 15112221349535400772501151409588531511454012693041857206046113283949847762202
assert ED_B[1] == 46316835694926478169428394003475163141307993866256225615783033603165251855960


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 5.1.7 (pure Ed25519: dom2 is empty, PH is the identity).

    Checks the group equation [S]B = R + [k]A without the cofactor, the
    "sufficient" form of the RFC (every signature that passes it also passes
    the cofactored check). S >= L is rejected, as are non-canonical point
    encodings (y >= p) and encodings that are not on the curve.
    """
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a_point = _ed_decode_point(public_key)
    if a_point is None:
        return False
    r_bytes = signature[:32]
    r_point = _ed_decode_point(r_bytes)
    if r_point is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= ED_L:
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + public_key + message).digest(), "little") % ED_L
    left = _ed_mul(s, ED_B)
    right = _ed_add(r_point, _ed_mul(k, a_point))
    return _ed_equal(left, right)


# ---------------------------------------------------------------------------
# Strict base64 (RFC 4648 section 4, standard alphabet, padded, canonical).
# ---------------------------------------------------------------------------

_B64_RE = re.compile(r"\A[A-Za-z0-9+/]*={0,2}\Z")


def b64decode_strict(text: str, what: str) -> bytes:
    if len(text) % 4 != 0 or not _B64_RE.match(text):
        raise VerifyError(f"{what}: {text!r} is not standard padded base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise VerifyError(f"{what}: {text!r} is not base64: {err}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise VerifyError(f"{what}: {text!r} is not canonical base64 (non-zero padding bits)")
    return raw


# ---------------------------------------------------------------------------
# C2SP signed-note.
# ---------------------------------------------------------------------------

EM_DASH_SPACE = "\u2014 "
MAX_SIGNATURES = 100  # the spec: MUST accept at least 16


def valid_key_name(name: str) -> bool:
    """signed-note: non-empty, no Unicode spaces, no '+'."""
    return name != "" and "+" not in name and not any(ch.isspace() for ch in name)


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: int
    public_key: bytes

    @staticmethod
    def parse(text: str) -> VerifierKey:
        text = text.strip()
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise VerifyError(f"verifier key {text!r}: want <name>+<hex key id>+<base64 key>")
        name, hex_id, key_b64 = parts
        if not valid_key_name(name):
            raise VerifyError(f"verifier key {text!r}: invalid key name {name!r}")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
            raise VerifyError(f"verifier key {text!r}: key id {hex_id!r} is not 8 hex digits")
        raw = b64decode_strict(key_b64, "verifier key")
        if len(raw) != 33 or raw[0] != 0x01:
            raise VerifyError(
                f"verifier key {text!r}: want 0x01 (Ed25519) followed by 32 key bytes, "
                f"got {len(raw)} bytes starting {raw[:1].hex()}"
            )
        key_id = int(hex_id, 16)
        expected = note_key_id(name, raw)
        if key_id != expected:
            raise VerifyError(
                f"verifier key {text!r}: key id {hex_id} does not match the key "
                f"(SHA-256(name || 0x0A || 0x01 || key)[:4] = {expected:08x})"
            )
        return VerifierKey(name, key_id, raw[1:])


def note_key_id(name: str, typed_key: bytes) -> int:
    """key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + typed_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: int
    signature: bytes  # without the 4-byte key id


@dataclass(frozen=True)
class SignedNote:
    text: bytes  # the note text, including its final newline
    signatures: list


def parse_note(data: bytes) -> SignedNote:
    """Parse a signed note (C2SP signed-note "Format")."""
    try:
        decoded = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        raise VerifyError(f"note is not valid UTF-8: {err}") from None
    for pos, ch in enumerate(decoded):
        if ord(ch) < 0x20 and ch != "\n":
            raise VerifyError(f"note holds control character U+{ord(ch):04X} at character {pos}")
    if not data.endswith(b"\n"):
        raise VerifyError("note does not end with a newline")
    # The text is separated from the signatures by the last empty line.
    split = data.rfind(b"\n\n")
    if split < 0:
        raise VerifyError("note has no empty line separating the text from the signatures")
    text = data[: split + 1]
    sig_block = data[split + 2 :].decode("utf-8")
    if sig_block == "":
        raise VerifyError("note has no signature lines")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerifyError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    signatures = []
    for line in lines:
        if not line.startswith(EM_DASH_SPACE):
            raise VerifyError(f"signature line {line!r} does not start with em dash, space")
        rest = line[len(EM_DASH_SPACE) :]
        fields = rest.split(" ")
        if len(fields) != 2:
            raise VerifyError(f"signature line {line!r}: want '— <key name> <base64>'")
        name, sig_b64 = fields
        if not valid_key_name(name):
            raise VerifyError(f"signature line {line!r}: invalid key name {name!r}")
        raw = b64decode_strict(sig_b64, "signature")
        if len(raw) < 5:
            raise VerifyError(f"signature line {line!r}: want a 4-byte key id and a signature")
        signatures.append(Signature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return SignedNote(text, signatures)


def verify_note(data: bytes, key: VerifierKey) -> SignedNote:
    """Parse a note and verify it against one trusted key.

    Signatures from other keys (another name or another key id) are ignored,
    as the spec requires. A signature from the trusted key that fails to
    verify rejects the whole note; so does the absence of any.
    """
    note = parse_note(data)
    verified = 0
    for sig in note.signatures:
        if sig.name != key.name or sig.key_id != key.key_id:
            continue
        if len(sig.signature) != 64:
            raise VerifyError(
                f"signature by {key.name}+{key.key_id:08x} is {len(sig.signature)} bytes, "
                "an Ed25519 signature is 64"
            )
        if not ed25519_verify(key.public_key, note.text, sig.signature):
            raise VerifyError(f"Ed25519 signature by {key.name}+{key.key_id:08x} does not verify")
        verified += 1
    if verified == 0:
        raise VerifyError(f"note carries no signature by {key.name}+{key.key_id:08x}")
    return note


# ---------------------------------------------------------------------------
# C2SP tlog-checkpoint.
# ---------------------------------------------------------------------------

_DECIMAL_RE = re.compile(r"\A(0|[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: list


def parse_checkpoint_text(text: bytes) -> Checkpoint:
    lines = text.decode("utf-8").split("\n")
    if lines[-1] != "":
        raise VerifyError("checkpoint text does not end with a newline")
    lines = lines[:-1]
    if len(lines) < 3:
        raise VerifyError(f"checkpoint text has {len(lines)} lines, want at least 3")
    for number, line in enumerate(lines, start=1):
        if line == "":
            raise VerifyError(f"checkpoint text line {number} is empty")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not _DECIMAL_RE.match(size_line):
        raise VerifyError(f"checkpoint tree size {size_line!r} is not a decimal without leading zeros")
    root = b64decode_strict(root_line, "checkpoint root hash")
    if len(root) != 32:
        raise VerifyError(f"checkpoint root hash is {len(root)} bytes, want 32 (SHA-256)")
    return Checkpoint(origin, int(size_line), root, lines[3:])


def verify_checkpoint(data: bytes, key: VerifierKey, origin: str | None) -> Checkpoint:
    note = verify_note(data, key)
    checkpoint = parse_checkpoint_text(note.text)
    expected = origin if origin is not None else key.name
    if checkpoint.origin != expected:
        raise VerifyError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {expected!r}"
            + ("" if origin is not None else " (the verifier key's name; pass --origin if they differ)")
        )
    return checkpoint


# ---------------------------------------------------------------------------
# C2SP tlog-proof@v1.
# ---------------------------------------------------------------------------

TLOG_PROOF_HEADER = b"c2sp.org/tlog-proof@v1\n"


@dataclass(frozen=True)
class TlogProof:
    extra: bytes | None
    index: int
    path: list
    checkpoint: bytes  # the signed checkpoint, verbatim


def parse_tlog_proof(data: bytes) -> TlogProof:
    if not data.startswith(TLOG_PROOF_HEADER):
        raise VerifyError("receipt does not start with the line 'c2sp.org/tlog-proof@v1'")
    split = data.find(b"\n\n", len(TLOG_PROOF_HEADER) - 1)
    if split < 0:
        raise VerifyError("receipt has no empty line before the checkpoint")
    head = data[len(TLOG_PROOF_HEADER) : split + 1].decode("utf-8")
    checkpoint = data[split + 2 :]
    lines = head.split("\n")[:-1]
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = b64decode_strict(lines[0][len("extra ") :], "receipt extra data")
        lines = lines[1:]
    if not lines or not lines[0].startswith("index "):
        raise VerifyError("receipt has no 'index <n>' line")
    index_text = lines[0][len("index ") :]
    if not _DECIMAL_RE.match(index_text):
        raise VerifyError(f"receipt index {index_text!r} is not a decimal without leading zeros")
    path = []
    for number, line in enumerate(lines[1:], start=1):
        hash_bytes = b64decode_strict(line, f"receipt inclusion proof hash {number}")
        if len(hash_bytes) != 32:
            raise VerifyError(f"receipt inclusion proof hash {number} is {len(hash_bytes)} bytes, want 32")
        path.append(hash_bytes)
    return TlogProof(extra, int(index_text), path, checkpoint)


# ---------------------------------------------------------------------------
# RFC 9162 section 2.1: Merkle tree hashing and proof verification.
# ---------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def verify_inclusion(index: int, size: int, leaf: bytes, path: list, root: bytes) -> None:
    """RFC 9162 section 2.1.3.2."""
    # 1. leaf_index must be less than tree_size.
    if index >= size:
        raise VerifyError(f"index {index} is not less than the tree size {size}")
    # 2. fn = leaf_index, sn = tree_size - 1; 3. r = hash.
    fn, sn = index, size - 1
    r = leaf
    # 4. for each p in inclusion_path:
    for p in path:
        # a. if sn is 0, fail.
        if sn == 0:
            raise VerifyError("inclusion proof is longer than the path from the leaf to the root")
        # b. if LSB(fn) is set, or fn equals sn:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        # c. right-shift both once.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r the root.
    if sn != 0:
        raise VerifyError("inclusion proof is shorter than the path from the leaf to the root")
    if r != root:
        raise VerifyError(
            f"inclusion proof leads to root {base64.b64encode(r).decode()}, "
            f"the checkpoint says {base64.b64encode(root).decode()}"
        )


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list) -> None:
    """RFC 9162 section 2.1.4.2, for 0 < first < second.

    The two edge cases the RFC's algorithm does not cover are handled as the
    definitions imply: the proof between equal sizes is empty (2.1.4.1,
    SUBPROOF(m, D[m], true) = {}) and the roots must then be equal; the empty
    tree (root SHA-256 of the empty string, 2.1.1) is a prefix of every tree,
    with an empty proof.
    """
    if first > second:
        raise VerifyError(f"the old size {first} is larger than the new size {second}")
    if first == second:
        if path:
            raise VerifyError("consistency proof between equal sizes must be empty")
        if first_hash != second_hash:
            raise VerifyError(f"two checkpoints of size {first} have different roots (a fork)")
        return
    if first == 0:
        if path:
            raise VerifyError("consistency proof from the empty tree must be empty")
        if first_hash != EMPTY_ROOT:
            raise VerifyError("the checkpoint of size 0 does not have the empty tree's root")
        return
    # 1. empty path: fail.
    if not path:
        raise VerifyError("consistency proof is empty")
    path = list(path)
    # 2. if first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. if LSB(fn) is set, right-shift both until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = path[0].
    fr = sr = path[0]
    # 6. for each subsequent c:
    for c in path[1:]:
        # a. sn is 0: fail.
        if sn == 0:
            raise VerifyError("consistency proof is longer than it can be")
        # b. if LSB(fn) is set or fn equals sn:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        # c. right-shift both once.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    if sn != 0:
        raise VerifyError("consistency proof is shorter than it must be")
    if fr != first_hash:
        raise VerifyError(
            f"consistency proof rebuilds the old root as {base64.b64encode(fr).decode()}, "
            f"the old checkpoint says {base64.b64encode(first_hash).decode()}"
        )
    if sr != second_hash:
        raise VerifyError(
            f"consistency proof rebuilds the new root as {base64.b64encode(sr).decode()}, "
            f"the new checkpoint says {base64.b64encode(second_hash).decode()}"
        )


# ---------------------------------------------------------------------------
# RFC 8785 (JCS) canonical JSON, with I-JSON (RFC 7493) input rules.
# ---------------------------------------------------------------------------


class _Number:
    """A parsed JSON number, as the IEEE-754 double it denotes."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


def _parse_number(text: str) -> _Number:
    # JSON numbers denote IEEE-754 doubles (RFC 8785 3.2.2.3, I-JSON). An
    # integer the double cannot hold exactly (9007199254740993) becomes the
    # nearest double and so fails the byte comparison with its canonical form,
    # while the canonical rendering of a large double (1e20 as
    # 100000000000000000000) round-trips.
    value = float(text)
    if math.isinf(value):
        raise VerifyError(f"number {text} overflows an IEEE-754 double")
    return _Number(value)


def _parse_constant(text: str) -> None:
    raise VerifyError(f"{text} is not JSON")


def _pairs(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise VerifyError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def es6_number(value: float) -> str:
    """ECMAScript Number::toString (ES2015 7.1.12.1), as RFC 8785 3.2.2.3 requires.

    Python's repr(float) yields the shortest digit string that round-trips,
    correctly rounded -- the digits s and the exponent n the ES algorithm
    asks for. Only the layout rules are applied here.
    """
    if math.isnan(value) or math.isinf(value):
        raise VerifyError("NaN and Infinity are not JSON")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    exponent = (int(exp_text) if exp_text else 0) - len(frac_part)
    digits = digits.lstrip("0")
    while digits.endswith("0"):
        digits = digits[:-1]
        exponent += 1
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        e_text = ("+" if e >= 0 else "-") + str(abs(e))
        body = digits if k == 1 else digits[0] + "." + digits[1:]
        body += "e" + e_text
    return sign + body


def _jcs_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise VerifyError("string holds a lone surrogate (not I-JSON)")
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(text: str) -> bytes:
    # Big-endian UTF-16 bytes compare like the sequence of 16-bit code units.
    return text.encode("utf-16-be", errors="surrogatepass")


def jcs_serialize(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _Number):
        return es6_number(value.value)
    if isinstance(value, str):
        return _jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs_serialize(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_utf16_key)
        return "{" + ",".join(_jcs_string(k) + ":" + jcs_serialize(value[k]) for k in keys) + "}"
    raise VerifyError(f"unexpected value {value!r}")


def jcs_parse(data: bytes) -> object:
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        raise VerifyError(f"not UTF-8: {err}") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_parse_number,
            parse_float=_parse_number,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as err:
        raise VerifyError(f"not JSON: {err}") from None


def jcs_canonicalize(data: bytes) -> bytes:
    return jcs_serialize(jcs_parse(data)).encode("utf-8")


def check_canonical(data: bytes) -> None:
    canonical = jcs_canonicalize(data)
    if canonical != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(data, canonical)) if a != b),
            min(len(data), len(canonical)),
        )
        raise VerifyError(
            f"bytes are not RFC 8785 canonical: they differ from the canonical form at byte {at} "
            f"(have {data[at : at + 24]!r}, canonical {canonical[at : at + 24]!r})"
        )


# ---------------------------------------------------------------------------
# Commands.
# ---------------------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise VerifyError(f"cannot read {path}: {err.strerror}") from None


def load_key(arg: str) -> VerifierKey:
    if arg.startswith("@"):
        return VerifierKey.parse(read_bytes(arg[1:]).decode("utf-8"))
    return VerifierKey.parse(arg)


def checkpoint_bytes(data: bytes) -> bytes:
    """A checkpoint file, or a tlog-proof whose checkpoint is taken."""
    if data.startswith(TLOG_PROOF_HEADER):
        return parse_tlog_proof(data).checkpoint
    return data


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def cmd_receipt(args: argparse.Namespace) -> str:
    key = load_key(args.key)
    entry = read_bytes(args.entry)
    proof = parse_tlog_proof(read_bytes(args.receipt))
    checkpoint = verify_checkpoint(proof.checkpoint, key, args.origin)
    leaf = leaf_hash(entry)
    verify_inclusion(proof.index, checkpoint.size, leaf, proof.path, checkpoint.root)
    return (
        f"OK receipt: entry {hashlib.sha256(entry).hexdigest()} (leaf {b64(leaf)}) is at index "
        f"{proof.index} of {checkpoint.origin!r} at size {checkpoint.size}, root {b64(checkpoint.root)}, "
        f"signed by {key.name}+{key.key_id:08x}"
    )


def parse_hash_lines(data: bytes, what: str) -> list:
    text = data.decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    if text == "":
        return []
    hashes = []
    for number, line in enumerate(text.split("\n"), start=1):
        raw = b64decode_strict(line, f"{what} line {number}")
        if len(raw) != 32:
            raise VerifyError(f"{what} line {number} is {len(raw)} bytes, want 32")
        hashes.append(raw)
    return hashes


def cmd_consistency(args: argparse.Namespace) -> str:
    key = load_key(args.key)
    old = verify_checkpoint(checkpoint_bytes(read_bytes(args.old)), key, args.origin)
    new = verify_checkpoint(checkpoint_bytes(read_bytes(args.new)), key, args.origin)
    path = parse_hash_lines(read_bytes(args.proof), "consistency proof")
    verify_consistency(old.size, new.size, old.root, new.root, path)
    return (
        f"OK consistency: {old.origin!r} size {old.size} (root {b64(old.root)}) is a prefix of "
        f"size {new.size} (root {b64(new.root)}), both signed by {key.name}+{key.key_id:08x}"
    )


def cmd_checkpoint(args: argparse.Namespace) -> str:
    key = load_key(args.key)
    checkpoint = verify_checkpoint(checkpoint_bytes(read_bytes(args.file)), key, args.origin)
    return (
        f"OK checkpoint: {checkpoint.origin!r} size {checkpoint.size} root {b64(checkpoint.root)}, "
        f"signed by {key.name}+{key.key_id:08x}"
    )


def cmd_note(args: argparse.Namespace) -> str:
    key = load_key(args.key)
    note = verify_note(read_bytes(args.file), key)
    return f"OK note: {len(note.text)} bytes of text signed by {key.name}+{key.key_id:08x}"


def cmd_entry(args: argparse.Namespace) -> str:
    out = []
    for path in args.files:
        data = read_bytes(path)
        try:
            check_canonical(data)
        except VerifyError as err:
            raise VerifyError(f"{path}: {err}") from None
        out.append(f"OK entry {hashlib.sha256(data).hexdigest()} (RFC 8785 canonical, leaf {b64(leaf_hash(data))})")
    return "\n".join(out)


# --- self test ---------------------------------------------------------------

# RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
RFC8032_VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


def _expect_fail(label: str, func) -> None:
    try:
        func()
    except VerifyError:
        return
    raise VerifyError(f"selftest: {label} was accepted")


def _selftest_builtin() -> int:
    checks = 0
    for pub_hex, msg_hex, sig_hex in RFC8032_VECTORS:
        pub, msg, sig = bytes.fromhex(pub_hex), bytes.fromhex(msg_hex), bytes.fromhex(sig_hex)
        if not ed25519_verify(pub, msg, sig):
            raise VerifyError(f"selftest: RFC 8032 vector {pub_hex[:8]} does not verify")
        if ed25519_verify(pub, msg + b"x", sig):
            raise VerifyError("selftest: Ed25519 accepted a changed message")
        s = int.from_bytes(sig[32:], "little")
        if ed25519_verify(pub, msg, sig[:32] + (s + ED_L).to_bytes(32, "little")):
            raise VerifyError("selftest: Ed25519 accepted S + L (non-canonical S)")
        checks += 3
    # RFC 8785 section 3.2.3 sample and the key-sorting example of 3.2.3.
    sample = (
        b'{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
        b'"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        b'"literals":[null,true,false]}'
    )
    want = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")
    if jcs_canonicalize(sample) != want:
        raise VerifyError(f"selftest: JCS sample gives {jcs_canonicalize(sample)!r}")
    sorting = (
        b'{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",'
        b'"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
        b'"\\u00f6":"Latin Small Letter O With Diaeresis"}'
    )
    order = [k for k, _ in json.loads(jcs_canonicalize(sorting), object_pairs_hook=lambda p: p)]
    if order != ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]:
        raise VerifyError(f"selftest: JCS key order {order!r}")
    numbers = {
        1e21: "1e+21",
        1e20: "100000000000000000000",
        1e-7: "1e-7",
        1e-6: "0.000001",
        -0.0: "0",
        123.0: "123",
        5e-324: "5e-324",
        1.7976931348623157e308: "1.7976931348623157e+308",
        9007199254740992.0: "9007199254740992",
        0.1: "0.1",
        -1.5: "-1.5",
    }
    for value, text in numbers.items():
        if es6_number(value) != text:
            raise VerifyError(f"selftest: ES6 form of {value!r} is {es6_number(value)!r}, want {text!r}")
    _expect_fail("duplicate key", lambda: jcs_parse(b'{"a":1,"a":2}'))
    _expect_fail("lone surrogate", lambda: jcs_canonicalize(b'["\\ud800"]'))
    _expect_fail("integer beyond 2^53", lambda: check_canonical(b"[9007199254740993]"))
    _expect_fail("number beyond the double range", lambda: jcs_parse(b"[1e400]"))
    check_canonical(b"[100000000000000000000,123456789012345680000,1e+21]")
    _expect_fail("NaN", lambda: jcs_parse(b"[NaN]"))
    _expect_fail("non-canonical", lambda: check_canonical(b'{"b":1,"a":2}'))
    checks += 3 + len(numbers) + 7
    # RFC 9162: a 7-leaf tree, every inclusion and consistency proof.
    leaves = [leaf_hash(bytes([i])) for i in range(7)]

    def mth(hashes: list) -> bytes:
        if len(hashes) == 1:
            return hashes[0]
        k = 1
        while k * 2 < len(hashes):
            k *= 2
        return node_hash(mth(hashes[:k]), mth(hashes[k:]))

    def path(m: int, hashes: list) -> list:
        if len(hashes) <= 1:
            return []
        k = 1
        while k * 2 < len(hashes):
            k *= 2
        if m < k:
            return path(m, hashes[:k]) + [mth(hashes[k:])]
        return path(m - k, hashes[k:]) + [mth(hashes[:k])]

    def subproof(m: int, hashes: list, whole: bool) -> list:
        n = len(hashes)
        if m == n:
            return [] if whole else [mth(hashes)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return subproof(m, hashes[:k], whole) + [mth(hashes[k:])]
        return subproof(m - k, hashes[k:], False) + [mth(hashes[:k])]

    for n in range(1, 8):
        root = mth(leaves[:n])
        for i in range(n):
            proof = path(i, leaves[:n])
            verify_inclusion(i, n, leaves[i], proof, root)
            _expect_fail("wrong leaf", lambda: verify_inclusion(i, n, leaves[(i + 1) % 7], proof, root))
            checks += 2
        for m in range(1, n):
            proof = subproof(m, leaves[:n], True)
            verify_consistency(m, n, mth(leaves[:m]), root, proof)
            _expect_fail("wrong old root", lambda: verify_consistency(m, n, root, root, proof))
            checks += 2
    return checks


def _selftest_vectors(directory: str) -> int:
    """The published C2SP/Go examples, laid out as in crates/asom-ledger/tests/data/c2sp."""
    checks = 0

    def data(rel: str) -> bytes:
        return read_bytes(os.path.join(directory, rel))

    def key(rel: str) -> VerifierKey:
        return VerifierKey.parse(data(rel).decode("utf-8"))

    # golang.org/x/mod/sumdb/note: PeterNeumann signs; EnochRoot co-signs.
    peter = key("go-note/PeterNeumann.vkey")
    enoch = key("go-note/EnochRoot.vkey")
    verify_note(data("go-note/peter.note"), peter)
    verify_note(data("go-note/peter-enoch.note"), peter)
    verify_note(data("go-note/peter-enoch.note"), enoch)
    if verify_note(data("go-note/peter.note"), peter).text != data("go-note/text.txt"):
        raise VerifyError("selftest: note text differs from go-note/text.txt")
    _expect_fail("peter.note by EnochRoot", lambda: verify_note(data("go-note/peter.note"), enoch))
    checks += 5
    # google/trillian-examples: a real sum.golang.org checkpoint, also cosigned.
    sumdb = key("trillian-examples/sum.golang.org.vkey")
    for name in ("sumdb-6476701.note", "sumdb-6476701-cosigned.note"):
        cp = verify_checkpoint(data("trillian-examples/" + name), sumdb, "go.sum database tree")
        if cp.size != 6476701:
            raise VerifyError(f"selftest: {name} size {cp.size}")
        checks += 1
    for line in data("trillian-examples/witnesses.vkeys").decode().splitlines():
        verify_note(data("trillian-examples/sumdb-6476701-cosigned.note"), VerifierKey.parse(line))
        checks += 1
    lines = data("trillian-examples/keys.txt").decode().splitlines()
    for line in lines[0::2]:
        VerifierKey.parse(line)
        checks += 1
    tampered = data("trillian-examples/sumdb-6476701.note").replace(b"6476701", b"6476702")
    _expect_fail("tampered sumdb checkpoint", lambda: verify_checkpoint(tampered, sumdb, "go.sum database tree"))
    checks += 1
    # The spec examples parse (their keys are not published).
    spec_note = parse_note(data("spec/signed-note.note"))
    if spec_note.text.count(b"\n") != 4 or spec_note.signatures[0].name != "quasimodo.example/salvatore":
        raise VerifyError("selftest: signed-note example parsed wrongly")
    cp = parse_checkpoint_text(parse_note(data("spec/tlog-checkpoint.note")).text)
    if (cp.origin, cp.size) != ("example.com/behind-the-sofa", 20852163):
        raise VerifyError("selftest: tlog-checkpoint example parsed wrongly")
    proof = parse_tlog_proof(data("spec/tlog-proof.tlog-proof"))
    if proof.index != 73894 or len(proof.path) != 5 or proof.extra is None:
        raise VerifyError("selftest: tlog-proof example parsed wrongly")
    checks += 3
    return checks


def cmd_selftest(args: argparse.Namespace) -> str:
    checks = _selftest_builtin()
    if args.vectors:
        checks += _selftest_vectors(args.vectors)
    return f"OK selftest: {checks} checks"


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("receipt", help="verify a tlog-proof@v1 receipt for an entry")
    p.add_argument("--key", required=True, help="verifier key (note format), or @FILE")
    p.add_argument("--entry", required=True, help="the entry bytes")
    p.add_argument("--receipt", required=True, help="the tlog-proof@v1 file")
    p.add_argument("--origin", help="expected checkpoint origin (default: the key name)")
    p.set_defaults(func=cmd_receipt)

    p = sub.add_parser("consistency", help="verify two checkpoints and a consistency proof")
    p.add_argument("--key", required=True, help="verifier key (note format), or @FILE")
    p.add_argument("--old", required=True, help="the older signed checkpoint (or a receipt holding it)")
    p.add_argument("--new", required=True, help="the newer signed checkpoint (or a receipt holding it)")
    p.add_argument("--proof", required=True, help="the consistency proof, base64 hashes one per line")
    p.add_argument("--origin", help="expected checkpoint origin (default: the key name)")
    p.set_defaults(func=cmd_consistency)

    p = sub.add_parser("checkpoint", help="verify a signed checkpoint")
    p.add_argument("--key", required=True, help="verifier key (note format), or @FILE")
    p.add_argument("--origin", help="expected checkpoint origin (default: the key name)")
    p.add_argument("file")
    p.set_defaults(func=cmd_checkpoint)

    p = sub.add_parser("note", help="verify any signed note")
    p.add_argument("--key", required=True, help="verifier key (note format), or @FILE")
    p.add_argument("file")
    p.set_defaults(func=cmd_note)

    p = sub.add_parser("entry", help="check entries are RFC 8785 canonical JSON; print their ids")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_entry)

    p = sub.add_parser("selftest", help="run the built-in and (optionally) published test vectors")
    p.add_argument("--vectors", help="directory laid out as crates/asom-ledger/tests/data/c2sp")
    p.set_defaults(func=cmd_selftest)

    args = parser.parse_args(argv)
    try:
        print(args.func(args))
    except VerifyError as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as err:
        print(f"FAIL: not UTF-8: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
