"""Where a dataset's files are: a built-in demo, a local file, or a Hugging Face dataset.

A Hugging Face id `org/name[:split]` is read from the raw files in the hub cache, without the
`datasets` library and without any network call when it is cached. The split's files are those
the dataset card's default config names, else those whose path names the split (`train.jsonl`,
`data/train-00000-of-00001.parquet`), else, when no file names a split, all of them as `train`:
the rules the `datasets` library follows, in brief.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.datasets.demos import demo_file, is_demo
from tui_ft.core.datasets.files import KINDS, SUPPORTED, DataFile
from tui_ft.core.errors import UserError
from tui_ft.core.models.hf_cache import hub_cache_dir
from tui_ft.core.models.hf_hub import HUB_TIMEOUT_S, is_offline

_HF_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?::(?P<split>[\w.-]+))?$")
_SPLIT_WORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
_DOWNLOAD_PATTERNS = ["README.md", *(f"*{suffix}" for suffix in KINDS)]


@dataclass(frozen=True)
class Source:
    """The dataset's name in sentences, its file (or the folder of a HF split), and its files."""

    label: str
    path: Path | None
    files: tuple[DataFile, ...]


def resolve(ref: str) -> Source:
    """`demo` (or another built-in demo), a path to a data file, or a Hugging Face dataset id
    `org/name[:split]`."""
    ref = ref.strip()
    if not ref:
        raise UserError("no dataset was named.", "Name `demo`, a data file or `org/name`.")
    if is_demo(ref):
        return _demo(ref)
    path = Path(ref).expanduser()
    if path.exists():
        return _local(ref, path)
    match = _HF_ID.match(ref)
    if match and path.suffix.lower() not in KINDS:
        return _hub(match["repo"], match["split"] or "train")
    raise _not_found(ref, path)


def needs_download(ref: str) -> bool:
    """Whether `resolve(ref)` would ask the hub: a dataset id that is not in the cache."""
    ref = ref.strip()
    path = Path(ref).expanduser()
    if not ref or is_demo(ref) or path.exists():
        return False
    match = _HF_ID.match(ref)
    return (
        match is not None
        and path.suffix.lower() not in KINDS
        and not _cached_snapshot(match["repo"])
    )


def _single(label: str, path: Path) -> Source:
    return Source(label, path, (DataFile(path, path.name),))


def _demo(name: str) -> Source:
    path = demo_file(name)
    if not path.is_file():
        raise UserError(
            f"the {name} dataset is missing from this installation ({path}).",
            "Reinstall tui-ft, or name a dataset file instead.",
        )
    return _single(name, path)


def _local(ref: str, path: Path) -> Source:
    if path.is_dir():
        inside = sorted(str(Path(ref) / p.name) for p in path.iterdir() if p.suffix in KINDS)
        raise UserError(
            f"{ref} is a folder; a dataset is one data file.",
            f"Name one of its files: {', '.join(inside[:5])}."
            if inside
            else f"It holds no data file ({SUPPORTED}).",
        )
    return _single(ref, path)


def _not_found(ref: str, path: Path) -> UserError:
    folder = path.parent
    if not folder.is_dir():
        return UserError(
            f"{ref} was not found: the folder {folder} does not exist.",
            "Check the path, or name `demo` or a Hugging Face dataset id (org/name).",
        )
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    close = [str(Path(ref).parent / name) for name in difflib.get_close_matches(path.name, names)]
    return UserError(
        f"{ref} was not found in {folder.resolve()}.",
        f"Did you mean {' or '.join(close)}?" if close else "No file there has a similar name.",
    )


def _hub(repo_id: str, split: str) -> Source:
    snapshot = _cached_snapshot(repo_id) or _download(repo_id)
    files = _split_files(repo_id, snapshot, split)
    return Source(f"{repo_id}:{split}", files[0].path if len(files) == 1 else snapshot, files)


def _cached_snapshot(repo_id: str) -> Path | None:
    repo_dir = hub_cache_dir() / f"datasets--{repo_id.replace('/', '--')}"
    main = repo_dir / "refs" / "main"
    if main.is_file():
        snapshot = repo_dir / "snapshots" / main.read_text().strip()
        if snapshot.is_dir():
            return snapshot
    snapshots = [p for p in repo_dir.glob("snapshots/*") if p.is_dir()]
    return max(snapshots, key=lambda p: p.stat().st_mtime, default=None)


def _download(repo_id: str) -> Path:
    if is_offline():
        raise UserError(
            f"{repo_id} is neither a local file nor a dataset in the Hugging Face cache "
            f"({hub_cache_dir()}), and the hub is offline (HF_HUB_OFFLINE is set).",
            f"Download it where there is network (`hf download {repo_id} --repo-type dataset`) "
            "and copy the cache here, or use a local file.",
        )
    # Imported here: only a dataset that is not cached yet needs the hub client.
    from huggingface_hub import HfApi, snapshot_download

    try:
        # Asked first with a short timeout: snapshot_download's own look-up retries for long.
        info = HfApi().dataset_info(repo_id, timeout=HUB_TIMEOUT_S)
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=info.sha,
            cache_dir=hub_cache_dir(),
            etag_timeout=HUB_TIMEOUT_S,
            allow_patterns=_DOWNLOAD_PATTERNS,
        )
    except Exception as err:  # the hub client also raises its HTTP library's own error types
        explained = _download_error(repo_id, err)
        if explained is None:
            raise
        raise explained from None
    return Path(str(folder))


def _download_error(repo_id: str, err: Exception) -> UserError | None:
    """A sentence for the download failures a person can act on; None for genuine bugs."""
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    if isinstance(err, GatedRepoError):
        return UserError(
            f"{repo_id} is a gated dataset: its files need accepted terms and a token.",
            f"Accept them on https://huggingface.co/datasets/{repo_id}, then set HF_TOKEN.",
        )
    if isinstance(err, RepositoryNotFoundError):
        return UserError(
            f"{repo_id} is neither a local file nor a dataset on the Hugging Face hub.",
            "Check the spelling (org/name); a private dataset also needs HF_TOKEN.",
        )
    transport = type(err).__module__.split(".")[0] in {"httpx", "httpx2", "requests"}
    if isinstance(err, HfHubHTTPError | OSError) or transport:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return UserError(
            f"{repo_id} is not in the Hugging Face cache and could not be downloaded: {reason}",
            "Check the network, or use a local file (set HF_HUB_OFFLINE=1 when there is none).",
        )
    return None


def _split_files(repo_id: str, snapshot: Path, split: str) -> tuple[DataFile, ...]:
    data = [p for p in sorted(snapshot.rglob("*")) if _is_data_file(p, snapshot)]
    if not data:
        raise UserError(
            f"the cached copy of {repo_id} ({snapshot}) holds no data file ({SUPPORTED}).",
            f"It may be partly downloaded: `hf download {repo_id} --repo-type dataset`.",
        )
    patterns = _card_splits(snapshot)
    if patterns is not None:
        available = sorted(patterns)
        chosen = _globbed(snapshot, patterns.get(split, ()))
    else:
        available, chosen = _named_splits(data, snapshot, split)
    if not chosen:
        raise _no_split(repo_id, split, available)
    return tuple(DataFile(p, p.relative_to(snapshot).as_posix()) for p in _one_kind(chosen))


def _no_split(repo_id: str, split: str, available: list[str]) -> UserError:
    if split in available:
        return UserError(
            f"the files of split {split!r} of {repo_id} are not in the Hugging Face cache.",
            f"Download them: `hf download {repo_id} --repo-type dataset`.",
        )
    return UserError(
        f"{repo_id} has no split {split!r}; it has: {', '.join(available)}.",
        f"Name one after a colon, e.g. {repo_id}:{available[0]}." if available else "",
    )


def _is_data_file(path: Path, snapshot: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.relative_to(snapshot).parts)
    return not hidden and path.suffix.lower() in KINDS and path.is_file()


def _globbed(snapshot: Path, patterns: Iterable[str]) -> list[Path]:
    found = {p for pattern in patterns for p in snapshot.glob(pattern)}
    return sorted(p for p in found if _is_data_file(p, snapshot))


def _one_kind(files: list[Path]) -> list[Path]:
    """Only the first kind present (Parquet before JSON lines ... before text), so that a
    LICENSE.txt beside data.jsonl is not read as training data."""
    kind = min((KINDS[p.suffix.lower()] for p in files), key=list(KINDS.values()).index)
    return [p for p in files if KINDS[p.suffix.lower()] == kind]


def _relative(path: Path, snapshot: Path) -> str:
    return path.relative_to(snapshot).as_posix().lower()


def _names_word(word: str, relative: str) -> bool:
    return re.search(rf"(^|[/_.\- 0-9]){re.escape(word)}([/_.\- 0-9]|$)", relative) is not None


def _split_named(relative: str) -> str | None:
    splits = _SPLIT_WORDS.items()
    return next((s for s, words in splits if any(_names_word(w, relative) for w in words)), None)


def _named_splits(data: list[Path], snapshot: Path, split: str) -> tuple[list[str], list[Path]]:
    named = {_split_named(_relative(p, snapshot)) for p in data} - {None}
    if not named:
        return ["train"], data if split == "train" else []  # no file names a split: all is train
    words = _SPLIT_WORDS.get(split, (split.lower(),))
    chosen = [p for p in data if any(_names_word(w, _relative(p, snapshot)) for w in words)]
    return sorted(str(name) for name in named), chosen


def _card_splits(snapshot: Path) -> dict[str, list[str]] | None:
    """Split → file patterns of the dataset card's default config, when the card has configs."""
    readme = snapshot / "README.md"
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    import yaml  # imported here: only dataset cards need it

    try:
        card = yaml.safe_load(text[3:].split("\n---", 1)[0])
    except yaml.YAMLError:
        return None  # a broken card falls back to the files' names, as the datasets library does
    configs = card.get("configs") if isinstance(card, dict) else None
    if not isinstance(configs, list) or not configs:
        return None
    default = [c for c in configs if isinstance(c, dict) and _is_default(c)]
    config = default[0] if default else configs[0]
    return _card_data_files(config.get("data_files")) if isinstance(config, dict) else None


def _is_default(config: dict[str, object]) -> bool:
    return bool(config.get("default")) or config.get("config_name") == "default"


def _card_data_files(spec: object) -> dict[str, list[str]] | None:
    """`data_files` is a pattern, a list of patterns (all `train`), or a list of {split, path}."""
    entries = [spec] if isinstance(spec, str) else spec if isinstance(spec, list) else []
    splits: dict[str, list[str]] = {}
    for entry in entries:
        split, patterns = _card_entry(entry)
        splits.setdefault(split, []).extend(patterns)
    return splits or None


def _card_entry(entry: object) -> tuple[str, list[str]]:
    if isinstance(entry, str):
        return "train", [entry]
    if not isinstance(entry, dict):
        return "train", []
    found = entry.get("path", [])
    patterns = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    return str(entry.get("split", "train")), [str(p) for p in patterns]
