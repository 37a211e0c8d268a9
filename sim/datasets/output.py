"""Output folders for generated datasets: never overwrite a dataset silently."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class DatasetError(ValueError):
    """Bad generator input (message is one line for the command line)."""


def prepare_output(out: Path, *, marker: str, force: bool) -> Path:
    """Create `out`, or refuse if it already holds a dataset (identified by `marker`).

    With `force`, an existing dataset there is removed first. A folder holding other
    files, but no dataset, is refused too: we do not mix our files with someone else's.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            what = "a dataset" if (out / marker).exists() else "other files"
            raise DatasetError(f"{out} already holds {what}; pass --force to replace it")
        if not (out / marker).exists():
            raise DatasetError(f"{out} holds files that are not a dataset; refusing to delete them")
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DatasetError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    if not os.access(out, os.W_OK):
        raise DatasetError(f"cannot write to {out}")
    return out
