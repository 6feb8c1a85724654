"""A run's integrity: the checksum of every file, the manifest's checksum of itself, and its HMAC signature.

A run folder holds exactly its manifest and the files the manifest lists, each with its sha256 and size.
The manifest carries the sha256 of its own canonical content (`manifest_sha256`: the JSON without that key
and without the signature, keys sorted, no spaces), so editing any number in it is seen. With the
environment variable INSIGHT_SIGNING_KEY set when a run is written, the manifest also carries
`manifest_hmac_sha256`: HMAC-SHA256 under that key of "insight-run-manifest-v1:" followed by the manifest's
sha256 (hex). Whoever can write the runs folder can recompute checksums, but not a signature without the key.

`verify_report` checks a run folder and refuses (one line per problem):

- a manifest that is missing, not JSON, not a JSON object, of an unknown format, or without its checksum;
- a manifest whose content does not match its checksum;
- with INSIGHT_SIGNING_KEY set: a manifest that is not signed, or signed with another key;
- a file entry that is not a plain file name or lacks its sha256 or size ("damaged");
- a listed file that is missing, is a link or a folder, or whose size or checksum differs;
- anything in the folder the manifest does not list (a map.parquet dropped into a small run is never used).

Without the key, a signed run is still checked on its checksums, and the report says its signature was not
checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insight.runs.layout import MANIFEST, MANIFEST_DIGEST, MANIFEST_SIGNATURE, READABLE_SCHEMA_VERSIONS

SIGNING_KEY_ENV = "INSIGHT_SIGNING_KEY"
SIGNATURE_CONTEXT = b"insight-run-manifest-v1:"
"""Prefixed to the manifest's sha256 before signing, so that the key signs nothing else by accident."""
MANIFEST_MAX_BYTES = 64 << 20
"""A manifest larger than this is refused unread."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
SIGNATURE_NOT_CHECKED = f"signature not checked: {SIGNING_KEY_ENV} is not set"


@dataclass(frozen=True)
class Verification:
    """What `verify_report` found: `problems` refuse the run; `notes` (such as an unchecked signature) do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def signing_key() -> bytes | None:
    """INSIGHT_SIGNING_KEY as bytes (UTF-8), or None when it is unset or empty."""
    key = os.environ.get(SIGNING_KEY_ENV, "")
    return key.encode("utf-8") if key else None


def signing_key_id(key: bytes | None = None) -> str:
    """A short fingerprint of the signing key in use ('' without one), for cache keys and never for checking."""
    key = signing_key() if key is None else key
    return hashlib.sha256(b"insight-key-id:" + key).hexdigest()[:16] if key else ""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's content without its own digest and signature, independent of formatting."""
    body = {k: v for k, v in manifest.items() if k not in (MANIFEST_DIGEST, MANIFEST_SIGNATURE)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def manifest_signature(digest: str, key: bytes) -> str:
    """HMAC-SHA256 under `key` of the manifest's sha256 (hex), domain-separated by SIGNATURE_CONTEXT."""
    return hmac.new(key, SIGNATURE_CONTEXT + digest.encode("ascii"), hashlib.sha256).hexdigest()


def seal(manifest: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """`manifest` with its checksum and, with a key (default: INSIGHT_SIGNING_KEY), its signature; an old
    signature is dropped when there is no key."""
    key = signing_key() if key is None else key
    sealed = {k: v for k, v in manifest.items() if k not in (MANIFEST_DIGEST, MANIFEST_SIGNATURE)}
    sealed[MANIFEST_DIGEST] = manifest_digest(sealed)
    if key:
        sealed[MANIFEST_SIGNATURE] = manifest_signature(sealed[MANIFEST_DIGEST], key)
    return sealed


def is_plain_name(name: str) -> bool:
    """A file name inside a folder: no separators, not '.', '..' or hidden, nothing absolute."""
    return bool(name) and name == Path(name).name and "\\" not in name and not name.startswith(".") \
        and "\x00" not in name


def verify_run(path: Path) -> list[str]:
    """Problems with a run folder (empty list when the run is intact; see `verify_report`)."""
    return verify_report(path).problems


def verify_report(path: Path, *, key: bytes | None = None) -> Verification:
    """Check the run folder at `path` against its manifest (and, with INSIGHT_SIGNING_KEY or `key`, its
    signature). Never raises for a damaged run: every problem is a line of the report."""
    path = Path(path)
    key = signing_key() if key is None else key
    if not path.is_dir():
        return Verification([f"{path}: no such run folder"])
    manifest_path = path / MANIFEST
    if manifest_path.is_symlink() or (manifest_path.exists() and not manifest_path.is_file()):
        return Verification([f"{MANIFEST}: a link or a folder, not the run's manifest: the run is damaged"])
    if not manifest_path.exists():
        return Verification([f"{path.name}: no manifest.json (an incomplete or foreign folder)"])
    manifest, problem = _read(manifest_path)
    if problem:
        return Verification([problem])
    assert manifest is not None
    if manifest.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        readable = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
        return Verification([f"{path.name}: run format version {manifest.get('schema_version')} is not one this "
                             f"version of insight reads ({readable}); retrain with this version"])
    problems: list[str] = []
    notes: list[str] = []
    digest = manifest.get(MANIFEST_DIGEST)
    expected_digest = manifest_digest(manifest)
    if digest is None:
        problems.append(f"{MANIFEST}: has no checksum of its own ({MANIFEST_DIGEST}): the run is damaged or its "
                        "manifest was edited")
    elif not isinstance(digest, str) or not hmac.compare_digest(digest, expected_digest):
        problems.append(f"{MANIFEST}: its content does not match its checksum (the manifest was edited)")
    _check_signature(manifest.get(MANIFEST_SIGNATURE), expected_digest, key, problems, notes)
    problems += _check_files(path, manifest.get("files"))
    return Verification(problems, notes)


def _read(manifest_path: Path) -> tuple[dict[str, Any] | None, str | None]:
    size = manifest_path.stat().st_size
    if size > MANIFEST_MAX_BYTES:
        return None, f"{MANIFEST}: {size:,} bytes, more than a manifest can be: the run is damaged"
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        return None, f"{manifest_path.parent.name}: manifest.json is not valid JSON ({e}): the run is damaged"
    if not isinstance(manifest, dict):
        return None, (f"{MANIFEST}: holds a JSON {type(manifest).__name__} instead of an object: the run is "
                      "damaged")
    return manifest, None


def _check_signature(signature: object, digest: str, key: bytes | None, problems: list[str],
                     notes: list[str]) -> None:
    if key is None:
        if signature is not None:
            notes.append(SIGNATURE_NOT_CHECKED)
    elif signature is None:
        problems.append(f"{MANIFEST}: not signed, and {SIGNING_KEY_ENV} is set, so only runs signed with that key "
                        "are accepted: retrain the run with the key set")
    elif not isinstance(signature, str) or not hmac.compare_digest(signature, manifest_signature(digest, key)):
        problems.append(f"{MANIFEST}: its signature does not match {SIGNING_KEY_ENV} (signed with another key, or "
                        "the manifest was changed)")


def _check_files(path: Path, files: object) -> list[str]:
    """Each listed file against its size and checksum, and nothing in the folder that is not listed."""
    if not isinstance(files, dict):
        return [f"{MANIFEST}: its list of files is not an object: the run is damaged"] if files is not None \
            else ["manifest lists no files"]
    problems = [] if files else ["manifest lists no files"]
    to_hash: list[tuple[str, Path, str]] = []
    for name, meta in files.items():
        file = path / name
        if not is_plain_name(name) or name == MANIFEST:
            problems.append(f"{name!r}: the manifest lists a file outside the run folder: the run is damaged")
        elif not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str) \
                or not _SHA256.fullmatch(meta["sha256"]):
            problems.append(f"{name}: the manifest's entry has no valid sha256: the run is damaged")
        elif not isinstance(meta.get("bytes"), int) or isinstance(meta["bytes"], bool):
            problems.append(f"{name}: the manifest's entry has no size in bytes: the run is damaged")
        elif file.is_symlink():
            problems.append(f"{name}: a link, not a file (a run's files are never links)")
        elif not file.exists():
            problems.append(f"{name}: missing")
        elif not file.is_file():
            problems.append(f"{name}: not a file")
        elif file.stat().st_size != meta["bytes"]:
            problems.append(f"{name}: size {file.stat().st_size} bytes, manifest says {meta['bytes']}")
        else:
            to_hash.append((name, file, meta["sha256"]))
    for entry in sorted(path.iterdir()):
        if entry.name != MANIFEST and entry.name not in files:
            kind = "a folder" if entry.is_dir() and not entry.is_symlink() else "a file"
            problems.append(f"{entry.name}: {kind} not listed in the manifest (added after the run was written): "
                            "remove it or retrain the run")
    # hashlib releases the GIL: the files of a large run are hashed on every core at once
    with ThreadPoolExecutor(max_workers=max(1, min(len(to_hash), os.cpu_count() or 1))) as pool:
        digests = list(pool.map(_digest_or_error, [file for _, file, _ in to_hash]))
    for (name, _, expected), digest in zip(to_hash, digests, strict=True):
        if isinstance(digest, OSError):
            problems.append(f"{name}: cannot be read ({digest.strerror or digest})")
        elif not hmac.compare_digest(digest, expected):
            problems.append(f"{name}: checksum does not match the manifest (the file was changed)")
    return problems


def _digest_or_error(path: Path) -> str | OSError:
    try:
        return sha256_of(path)
    except OSError as e:
        return e
