"""Private set intersection of enterprise codes (ECDH-PSI over Curve25519), so two parties match their firms
without revealing the firms they do not share.

Protocol (semi-honest, two rounds; party A learns the intersection):

1. ``round1`` (A): hash each own code ``x`` to a point ``H(x)`` of Curve25519, blind it with a fresh secret key
   ``a`` and send ``{a·H(x)}`` in a random order. A keeps ``a`` and that order in its private state.
2. ``round2`` (B): with a fresh secret key ``b``, return ``{b·a·H(x)}`` in A's order and its own ``{b·H(y)}``
   in a random order; ``b`` is forgotten.
3. ``finish`` (A): compute ``{a·b·H(y)}`` and keep the codes ``x`` whose ``b·a·H(x)`` is among them.

A learns the intersection and ``|Y|``; B learns ``|X|``. Neither sees a code of the other in any form it can
test without the other's key (DDH on the prime-order subgroup of Curve25519, H a random oracle). Whoever plays A
learns the shared firms, so the contract decides who that is; B bounds A's probing with ``max_peer_size``.

Incoming values are not trusted: every one is decoded and checked (`check_points`) to be the canonical
u-coordinate of a point of Curve25519 itself (not of its twist) that is not of small order, before any key
touches it; X25519's clamped scalars are multiples of the cofactor 8, so the value a key produces from it lies in
the prime-order group and is not the identity. Both parties bound the sizes they accept
(`DEFAULT_MAX_PEER_SIZE` unless told otherwise): B the number of values A sends, A the number of values B
returns, and `read_message` checks a file's announced sizes against the limit and the file's size before it
reads the values.

Files (`write_message`, `write_state`): a message is a magic line, a JSON header line (protocol, kind, session,
counts) and the raw 32-byte values; A's state (key and codes in sent order) and the shared codes are written
readable by their owner only (0600).

Why this construction:

- Blinding is the X25519 function (RFC 7748) of the ``cryptography`` package: ``X25519(k, u)`` is the
  u-coordinate of ``clamp(k)·P`` for the point ``P`` with u-coordinate ``u``. x-only scalar multiplication is
  well defined (``x(k·P) = x(k·(-P))``) and scalars commute, so
  ``X25519(a, X25519(b, u)) == X25519(b, X25519(a, u))``; the test suite checks it.
- Every 32-byte string is the u-coordinate of a point on Curve25519 *or on its quadratic twist*, and X25519 is
  twist-secure, so hashing straight to 32 bytes would be safe for the keys. It would however leak, for every
  blinded value, whether ``H(x)`` lies on the curve or on the twist (a scalar multiple stays on the same
  curve), i.e. one bit of ``H(x)`` per code, which a peer can test against guessed codes. ``H`` therefore maps
  onto the curve itself by try-and-increment: ``u = SHA-512(DST || len || code || counter) mod p`` until
  ``u³ + A·u² + u`` is a non-zero square (about two tries per code; a Legendre symbol each, via gmpy2). The
  points of small order are excluded. Try-and-increment is not constant time, which does not matter here:
  a party hashes only its own codes, on its own machine.
- Clamping makes every scalar a multiple of the cofactor 8, so blinded values lie in the prime-order subgroup
  and carry no torsion component: nothing of ``H(x)`` survives but the subgroup element.
- Keys come from the operating system's CSPRNG (``secrets``) and are never seedable: a seeded key would make
  the blinding reproducible by anyone who knows the seed. Outputs (the intersection) are deterministic.

>>> from techscore.joint.psi import intersect
>>> intersect(["914403001922038216"], ["914403001922038216"])
['914403001922038216']
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from techscore.exceptions import ValidationError
from techscore.joint._private import write_private

__all__ = [
    "DEFAULT_MAX_PEER_SIZE",
    "PROTOCOL",
    "CodeSet",
    "PsiMessage",
    "PsiState",
    "check_points",
    "finish",
    "hash_to_curve",
    "intersect",
    "prepare_codes",
    "read_codes",
    "read_message",
    "read_state",
    "round1",
    "round2",
    "write_message",
    "write_shared",
    "write_state",
]

PROTOCOL = "techscore-psi/1:ecdh-x25519:sha512-tai"
"""Names the group, hash and message layout; both parties must run the same."""

_P = 2**255 - 19
_A = 486662
_DST = b"techscore-psi-v1:uscc:curve25519:sha512-try-and-increment"
_SMALL_ORDER_U = frozenset(
    {
        0,
        1,
        _P - 1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
    }
)
"""u-coordinates of the points of order 1, 2, 4 and 8 (curve and twist), which clamping sends to zero."""
_SIZE = 32
_MAGIC = b"TSPSI1\n"
_MAX_HEADER = 4096
DEFAULT_MAX_PEER_SIZE = 2_000_000
"""Most values a party accepts from its peer unless told otherwise (64 MB of values): about every firm of a
province. Agree the real sizes and pass them (``--max-peer-size``)."""
_PARALLEL_MIN = 20_000
"""Below this many codes a process pool costs more than it saves."""

try:  # GMP's Legendre symbol is ~20x faster than Python's pow; the fallback gives the same answer.
    from gmpy2 import legendre as _gmp_legendre

    def _is_square(v: int) -> bool:
        return _gmp_legendre(v, _P) == 1

except ImportError:  # pragma: no cover - gmpy2 is a dependency

    def _is_square(v: int) -> bool:
        return pow(v, (_P - 1) // 2, _P) == 1


# ---------------------------------------------------------------------------------------------------------------
# codes in


@dataclass(frozen=True)
class CodeSet:
    """A party's validated codes: normalised (stripped, upper case), valid, unique and sorted.

    ``invalid`` holds ``(line, value)`` pairs dropped with ``skip_invalid``; ``duplicates`` counts the rows that
    repeated a code already seen.
    """

    codes: tuple[str, ...]
    source: str
    n_rows: int
    duplicates: int = 0
    invalid: tuple[tuple[int, str], ...] = field(default=())


def prepare_codes(
    codes: Iterable[object], *, source: str = "codes", first_line: int = 1, skip_invalid: bool = False
) -> CodeSet:
    """Normalise (strip, upper-case), validate (GB 32100-2015 check character) and de-duplicate codes.

    Raises `ValidationError` naming `source` and the line of each invalid code (at most five listed, all in
    ``problems``) unless `skip_invalid`, which drops them and records them in the result. Line numbers count
    from `first_line` (2 for a CSV file whose line 1 is the header).
    """
    import pandas as pd

    from techscore.sources.uscc import valid_mask

    raw = pd.Series(list(codes), dtype="string")
    norm = raw.str.strip().str.upper()
    ok = valid_mask(norm)
    bad = [(first_line + int(i), "" if pd.isna(raw.iloc[i]) else str(raw.iloc[i])) for i in (~ok).nonzero()[0]]
    if bad and not skip_invalid:
        shown = "; ".join(f"line {line}: {value!r}" for line, value in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise ValidationError(
            f"{source} holds {len(bad)} invalid unified social credit code(s), expected 18 characters with a "
            f"verifying check character: {shown}{more}.",
            problems=bad,
        )
    valid = norm[ok]
    unique = sorted(set(valid.tolist()))
    return CodeSet(
        codes=tuple(unique), source=source, n_rows=len(raw), duplicates=len(valid) - len(unique), invalid=tuple(bad)
    )


def read_codes(path: str | Path, *, column: str = "uscc", skip_invalid: bool = False) -> CodeSet:
    """Read the codes of one party from a CSV file with a header row (column `column`)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"codes file {path} does not exist.")
    frame = pd.read_csv(path, dtype="string", keep_default_na=False, skip_blank_lines=False)
    if column not in frame.columns:
        found = ", ".join(map(str, list(frame.columns)[:5])) or "none"
        raise ValidationError(f"{path} has no column {column!r}; found columns: {found}.")
    return prepare_codes(frame[column], source=str(path), first_line=2, skip_invalid=skip_invalid)


# ---------------------------------------------------------------------------------------------------------------
# the group operations


def hash_to_curve(code: str) -> bytes:
    """The u-coordinate (32 bytes, little-endian) of a point of Curve25519 that `code` hashes to.

    Try-and-increment with a domain-separated SHA-512: the 512-bit digest reduced mod p is uniform to within
    2^-257, and is accepted when it is the u-coordinate of a point of the curve (not the twist) that is not of
    small order.
    """
    msg = code.encode("utf-8")
    prefix = hashlib.sha512(len(_DST).to_bytes(1, "big") + _DST + len(msg).to_bytes(4, "big") + msg)
    for counter in range(256):
        h = prefix.copy()
        h.update(counter.to_bytes(1, "big"))
        u = int.from_bytes(h.digest(), "little") % _P
        if u not in _SMALL_ORDER_U and _is_square(u * (u * u + _A * u + 1) % _P):
            return u.to_bytes(_SIZE, "little")
    raise RuntimeError("hash_to_curve found no curve point in 256 tries (probability 2^-256).")  # pragma: no cover


def _new_key() -> bytes:
    return secrets.token_bytes(_SIZE)


def _blind_chunk(key: bytes, values: bytes) -> bytes:
    """``X25519(key, u)`` for every 32-byte ``u`` in `values`, concatenated in order."""
    private = X25519PrivateKey.from_private_bytes(key)
    out = bytearray()
    try:
        for i in range(0, len(values), _SIZE):
            out += private.exchange(X25519PublicKey.from_public_bytes(values[i : i + _SIZE]))
    except ValueError as exc:  # a small-order input gives the all-zero output, which OpenSSL refuses
        raise ValidationError(
            f"blinded value {i // _SIZE} is not a point of the prime-order group (small order); "
            "the message is corrupt or was crafted."
        ) from exc
    return bytes(out)


def check_points(values: bytes, what: str = "the peer's values") -> None:
    """Raise `ValidationError` unless every 32-byte value in `values` is the canonical encoding (``u < p``, top bit
    clear) of the u-coordinate of a point of Curve25519 itself, not of its quadratic twist, and not of small order.

    Such a point times a clamped scalar (a multiple of the cofactor 8) is a point of the prime-order group other
    than the identity, so a crafted value cannot steer a key into a small subgroup or onto the twist, and nothing
    of a key leaks through it.
    """
    if len(values) % _SIZE:
        raise ValidationError(f"{what} are not a whole number of {_SIZE}-byte values.")
    for i in range(0, len(values), _SIZE):
        u = int.from_bytes(values[i : i + _SIZE], "little")
        if u >= _P:  # top bit set, or a non-canonical encoding of u - p
            problem = "not a canonical field element"
        elif u in _SMALL_ORDER_U:
            problem = "a point of small order"
        elif not _is_square(u * (u * u + _A * u + 1) % _P):
            problem = "not a point of Curve25519 (a point of its twist)"
        else:
            continue
        raise ValidationError(
            f"value {i // _SIZE} of {what} is {problem}, not a point of the prime-order group; the message is "
            "corrupt or was crafted."
        )


def _check_size(n: int, limit: int | None, what: str) -> None:
    if limit is not None and n > limit:
        raise ValidationError(f"{what} holds {n} values, more than the agreed maximum of {limit}.")


def _hash_and_blind_chunk(key: bytes, codes: Sequence[str]) -> bytes:
    return _blind_chunk(key, b"".join(hash_to_curve(c) for c in codes))


def _workers(n: int, workers: int | None) -> int:
    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be a positive integer; got {workers}.")
        return workers
    if n < _PARALLEL_MIN:
        return 1
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _map_chunks(fn, key: bytes, items: Sequence, unit: int, workers: int | None) -> bytes:
    """Apply `fn(key, chunk)` over `items` (``unit`` items per record) in up to `workers` processes, in order."""
    n = len(items) // unit
    w = _workers(n, workers)
    if w == 1 or n < 2:
        return fn(key, items)
    step = -(-n // (2 * w)) * unit
    chunks = [items[i : i + step] for i in range(0, len(items), step)]
    # fork starts workers in milliseconds but is unsafe once the process runs other threads; forkserver then
    # (its workers re-import the main module, about a second each).
    method = "fork" if threading.active_count() == 1 and "fork" in get_all_start_methods() else "forkserver"
    if method not in get_all_start_methods():  # pragma: no cover - platforms without fork
        method = "spawn"
    with ProcessPoolExecutor(max_workers=w, mp_context=get_context(method)) as pool:
        return b"".join(pool.map(fn, [key] * len(chunks), chunks))


def _split(blob: bytes) -> list[bytes]:
    return [blob[i : i + _SIZE] for i in range(0, len(blob), _SIZE)]


def _shuffled(n: int) -> list[int]:
    order = list(range(n))
    secrets.SystemRandom().shuffle(order)
    return order


# ---------------------------------------------------------------------------------------------------------------
# the protocol


@dataclass(frozen=True)
class PsiMessage:
    """What crosses between the parties: ``blinded`` (A's values, blinded once in round 1, twice in round 2)
    and, in round 2, ``peer_blinded`` (B's own values, blinded once, in random order)."""

    kind: str
    session: str
    blinded: bytes
    peer_blinded: bytes = b""

    def __post_init__(self) -> None:
        if self.kind not in ("round1", "round2"):
            raise ValidationError(f"a PSI message kind is 'round1' or 'round2'; got {self.kind!r}.")
        for name in ("blinded", "peer_blinded"):
            if len(getattr(self, name)) % _SIZE:
                raise ValidationError(f"PSI message {name} is not a whole number of {_SIZE}-byte values.")

    @property
    def n_blinded(self) -> int:
        return len(self.blinded) // _SIZE

    @property
    def n_peer_blinded(self) -> int:
        return len(self.peer_blinded) // _SIZE


@dataclass(frozen=True, repr=False)
class PsiState:
    """A's private state between `round1` and `finish`: its key and its codes in the order it sent them.

    Never send it anywhere; its repr hides the key.
    """

    session: str
    key: bytes
    codes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"PsiState(session={self.session!r}, codes=<{len(self.codes)}>, key=<hidden>)"


def _codes_of(codes: CodeSet | Iterable[str]) -> tuple[str, ...]:
    return codes.codes if isinstance(codes, CodeSet) else prepare_codes(codes).codes


def round1(codes: CodeSet | Iterable[str], *, workers: int | None = None) -> tuple[PsiState, PsiMessage]:
    """A's first step: a fresh key, its codes hashed and blinded in random order; returns (state, message)."""
    own = _codes_of(codes)
    order = _shuffled(len(own))
    sent = tuple(own[i] for i in order)
    key = _new_key()
    blinded = _map_chunks(_hash_and_blind_chunk, key, sent, 1, workers)
    session = secrets.token_hex(16)
    return PsiState(session=session, key=key, codes=sent), PsiMessage("round1", session, blinded)


def round2(
    message: PsiMessage,
    codes: CodeSet | Iterable[str],
    *,
    max_peer_size: int | None = DEFAULT_MAX_PEER_SIZE,
    workers: int | None = None,
) -> PsiMessage:
    """B's step: re-blind A's values in A's order and add B's own blinded values in random order.

    `max_peer_size` refuses a peer set larger than agreed, which bounds how many guessed codes A can probe
    (`DEFAULT_MAX_PEER_SIZE` unless given; None accepts any size). A's values are checked with `check_points`
    before B's key touches them.
    """
    if message.kind != "round1":
        raise ValidationError(f"round2 answers a 'round1' message; got a {message.kind!r} message.")
    if max_peer_size is not None and message.n_blinded > max_peer_size:
        raise ValidationError(
            f"the peer sent {message.n_blinded} codes, more than the agreed maximum of {max_peer_size}."
        )
    check_points(message.blinded, "the peer's round1 message")
    own = _codes_of(codes)
    key = _new_key()
    reblinded = _map_chunks(_blind_chunk, key, message.blinded, _SIZE, workers)
    mine = _map_chunks(_hash_and_blind_chunk, key, [own[i] for i in _shuffled(len(own))], 1, workers)
    return PsiMessage("round2", message.session, reblinded, mine)


def finish(
    state: PsiState,
    message: PsiMessage,
    *,
    max_peer_size: int | None = DEFAULT_MAX_PEER_SIZE,
    workers: int | None = None,
) -> list[str]:
    """A's last step: the codes A shares with B, sorted.

    The reply must hold one re-blinded value per code sent and at most `max_peer_size` values of B's own
    (`DEFAULT_MAX_PEER_SIZE` unless given; None accepts any size); every value is checked with `check_points`.
    """
    if message.kind != "round2":
        raise ValidationError(f"finish reads a 'round2' message; got a {message.kind!r} message.")
    if message.session != state.session:
        raise ValidationError(
            f"the reply belongs to session {message.session}, not to this state's session {state.session}."
        )
    if message.n_blinded != len(state.codes):
        raise ValidationError(
            f"the reply holds {message.n_blinded} re-blinded values for the {len(state.codes)} codes sent."
        )
    if max_peer_size is not None and message.n_peer_blinded > max_peer_size:
        raise ValidationError(
            f"the peer sent {message.n_peer_blinded} codes, more than the agreed maximum of {max_peer_size}."
        )
    check_points(message.blinded, "the peer's re-blinded values")
    check_points(message.peer_blinded, "the peer's own values")
    theirs = set(_split(_map_chunks(_blind_chunk, state.key, message.peer_blinded, _SIZE, workers)))
    return sorted(code for code, v in zip(state.codes, _split(message.blinded), strict=True) if v in theirs)


def intersect(
    codes_a: CodeSet | Iterable[str], codes_b: CodeSet | Iterable[str], *, workers: int | None = None
) -> list[str]:
    """Run both parties in one process (a simulation of the protocol, and its reference): the shared codes."""
    state, message = round1(codes_a, workers=workers)  # both sets are this process's own: no size limit
    reply = round2(message, codes_b, max_peer_size=None, workers=workers)
    return finish(state, reply, max_peer_size=None, workers=workers)


# ---------------------------------------------------------------------------------------------------------------
# files


def write_message(message: PsiMessage, path: str | Path) -> Path:
    """Write a message file: a magic line, a JSON header line, then the raw 32-byte values."""
    path = Path(path)
    header = {
        "protocol": PROTOCOL,
        "kind": message.kind,
        "session": message.session,
        "n_blinded": message.n_blinded,
        "n_peer_blinded": message.n_peer_blinded,
    }
    write_private(path, _MAGIC + json.dumps(header).encode() + b"\n" + message.blinded + message.peer_blinded)
    return path


def read_message(path: str | Path, *, kind: str | None = None, max_values: int | None = None) -> PsiMessage:
    """Read and check a message file written by `write_message` (protocol, kind, sizes).

    The header is read first, and the sizes it announces are checked against `max_values` (the values of both
    parts together; None: no limit) and against the file's size before the values are read.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(len(_MAGIC) + _MAX_HEADER)
        if not head.startswith(_MAGIC):
            raise ValidationError(f"{path} is not a techscore PSI message (bad magic line).")
        end = head.find(b"\n", len(_MAGIC))
        if end < 0:
            raise ValidationError(f"{path} has no PSI header line within {_MAX_HEADER} bytes.")
        try:
            header = json.loads(head[len(_MAGIC) : end])
            n1, n2 = int(header["n_blinded"]), int(header["n_peer_blinded"])
            got_protocol, got_kind, session = header["protocol"], header["kind"], str(header["session"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"{path} has a malformed PSI header: {exc}.") from exc
        if got_protocol != PROTOCOL:
            raise ValidationError(f"{path} uses protocol {got_protocol!r}; this techscore speaks {PROTOCOL!r}.")
        if kind is not None and got_kind != kind:
            raise ValidationError(f"{path} is a {got_kind!r} message; expected a {kind!r} message.")
        if n1 < 0 or n2 < 0:
            raise ValidationError(f"{path} announces negative sizes.")
        _check_size(n1 + n2, max_values, str(path))
        size = os.fstat(fh.fileno()).st_size - (end + 1)
        if size != (n1 + n2) * _SIZE:
            raise ValidationError(f"{path} holds {size} bytes of values; its header announces {(n1 + n2) * _SIZE}.")
        fh.seek(end + 1)
        body = fh.read((n1 + n2) * _SIZE)
    if len(body) != (n1 + n2) * _SIZE:
        raise ValidationError(f"{path} changed while it was read.")
    return PsiMessage(got_kind, session, body[: n1 * _SIZE], body[n1 * _SIZE :])


def write_state(state: PsiState, path: str | Path) -> Path:
    """Write A's private state (key and codes) to a file only its owner can read (0600)."""
    path = Path(path)
    payload = {"protocol": PROTOCOL, "session": state.session, "key": state.key.hex(), "codes": list(state.codes)}
    write_private(path, json.dumps(payload).encode())
    return path


def read_state(path: str | Path) -> PsiState:
    """Read A's private state written by `write_state`."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["protocol"] != PROTOCOL:
            raise ValueError(f"protocol {payload['protocol']!r}, expected {PROTOCOL!r}")
        return PsiState(payload["session"], bytes.fromhex(payload["key"]), tuple(payload["codes"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{path} is not a techscore PSI state file: {exc}.") from exc


def write_shared(codes: Sequence[str], path: str | Path) -> Path:
    """Write the shared codes as a one-column CSV (``uscc``), readable by its owner only."""
    path = Path(path)
    write_private(path, ("uscc\n" + "".join(f"{c}\n" for c in codes)).encode("ascii"))
    return path
