"""Uploading a staged folder to a Hugging Face model repository with `huggingface_hub`: the
repository is created when missing, then `upload_folder` sends the listed files. Large files go
through the library's own resumable pipeline (hf_xet: chunked, deduplicated, committed in
batches); running the same push again after an interruption skips what already arrived.

The token is the library's to find (`HF_TOKEN`, else the one `hf auth login` saved): it is never
read into our messages, files or logs. Failures become sentences: offline, not logged in, no
right to write there, the Hub's own refusal.

`huggingface_hub` is imported only when pushing; tests hand in a fake `HfApi`.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.models.hf_hub import is_network_error, is_offline

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[A-Za-z0-9][\w.\-]{0,95}$")
LOGIN_HINT = "Set HF_TOKEN to a token with write access, or run `hf auth login` once."


def check_repo_id(repo_id: str) -> str:
    repo_id = repo_id.strip()
    if not _REPO_ID.match(repo_id) or ".." in repo_id or repo_id.endswith((".git", ".")):
        raise UserError(
            f"--repo {repo_id!r} is not a Hugging Face repository id.",
            "Name it ORG/NAME (or YOUR-USER/NAME): letters, digits, `-`, `_` and `.`.",
        )
    return repo_id


def repo_url(repo_id: str) -> str:
    return f"https://huggingface.co/{repo_id}"


def offline_error() -> UserError:
    return UserError(
        "pushing needs the Hugging Face Hub, and this machine is offline (HF_HUB_OFFLINE is set "
        "or the Hub cannot be reached).",
        "Push again where there is network (unset HF_HUB_OFFLINE); `--dry-run` lists what would "
        "go up without it.",
    )


def has_token() -> bool:
    from huggingface_hub import get_token

    return get_token() is not None


def push_folder(
    folder: Path,
    files: Sequence[str],
    repo_id: str,
    *,
    private: bool,
    message: str,
    api: Any = None,
) -> str:
    """Create the repository if needed and upload `files` (paths inside `folder`); the URL of
    the commit (or of the repository)."""
    if is_offline():
        raise offline_error()
    if api is None:
        if not has_token():
            raise UserError("pushing needs a Hugging Face token, and none is set.", LOGIN_HINT)
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            # Exactly the listed files: the listing the person saw is what goes up.
            allow_patterns=[glob.escape(name) for name in files],
            commit_message=message,
        )
    except Exception as err:  # the hub client raises its HTTP library's own error types
        explained = hub_error(err, repo_id)
        if explained is None:
            raise  # a bug of ours or of the library: the CLI's last line of defence says so
        raise explained from None
    return str(getattr(commit, "commit_url", "") or repo_url(repo_id))


def hub_error(err: BaseException, repo_id: str) -> UserError | None:
    """A sentence for what went wrong on the way to the Hub (never the token); None for what
    is not the Hub's or the network's doing."""
    from huggingface_hub import errors as hub_errors

    if isinstance(err, hub_errors.OfflineModeIsEnabled) or is_network_error(err):
        return offline_error()
    if isinstance(err, hub_errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status == 401:
            return UserError("the Hugging Face Hub refused the token (HTTP 401).", LOGIN_HINT)
        if status == 403:
            owner = repo_id.split("/")[0]
            return UserError(
                f"the token may not write to {repo_id} (HTTP 403).",
                f"Use a token with write access to {owner} (a fine-grained token needs "
                "'write' on that namespace), or push to your own namespace.",
            )
        server = getattr(err, "server_message", None) or ""
        return UserError(
            f"the Hugging Face Hub refused the upload to {repo_id} (HTTP {status})"
            + (f": {server.strip()}" if server.strip() else "."),
            "Check the repository id; try again in a minute if the Hub is busy "
            "(https://status.huggingface.co). Pushing again resumes where it stopped.",
        )
    if isinstance(err, OSError):
        return UserError(
            f"reading the files to upload failed: {err.strerror or err}.",
            "Check that the export folder is still there and readable.",
        )
    return None
