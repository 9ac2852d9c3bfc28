"""Checking and storing uploaded files: what a file really is comes from its bytes, never its name.

Pure functions: the view hands over the name and bytes it received, and the folder to write to.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, NamedTuple

from app.errors import DomainError


class AllowedKind(NamedTuple):
    extensions: tuple[str, ...]
    mimetype: str
    label: str


ALLOWED: Final[Mapping[str, AllowedKind]] = MappingProxyType(
    {
        "pdf": AllowedKind(("pdf",), "application/pdf", "PDF"),
        "docx": AllowedKind(
            ("docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"
        ),
        "xlsx": AllowedKind(
            ("xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"
        ),
        "pptx": AllowedKind(
            ("pptx",),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "PowerPoint presentation",
        ),
        "png": AllowedKind(("png",), "image/png", "PNG image"),
        "jpeg": AllowedKind(("jpg", "jpeg"), "image/jpeg", "JPEG image"),
        "gif": AllowedKind(("gif",), "image/gif", "GIF image"),
        "txt": AllowedKind(("txt",), "text/plain", "text file"),
        "csv": AllowedKind(("csv",), "text/csv", "CSV file"),
        "md": AllowedKind(("md",), "text/markdown", "Markdown file"),
    }
)

_KIND_BY_EXTENSION: Final[Mapping[str, str]] = MappingProxyType(
    {extension: kind for kind, allowed in ALLOWED.items() for extension in allowed.extensions}
)

# Office Open XML files are zips; the folder of their main part tells them apart.
_OFFICE_FOLDERS: Final[Mapping[str, str]] = MappingProxyType({"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"})
_TEXT_KINDS: Final = frozenset({"txt", "csv", "md"})

_ZIP_MAGIC: Final = b"PK\x03\x04"
_MAX_ZIP_ENTRIES: Final = 5000
_MAX_ZIP_UNCOMPRESSED_BYTES: Final = 200 * 1024 * 1024

# A browser would run these as a page, so they are never accepted as "text".
_MARKUP_OPENINGS: Final = ("<!doctype", "<html", "<svg", "<?xml", "<script")

_MAX_NAME_LENGTH: Final = 150
_MAX_KEPT_EXTENSION_LENGTH: Final = 10
_STORED_NAME: Final = re.compile(r"[0-9a-f]{32}\.[a-z0-9]{2,5}")


class UploadRejected(DomainError):
    """The uploaded file cannot be accepted; the message tells the user what to do instead."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


@dataclass(frozen=True)
class CheckedUpload:
    original_name: str
    kind: str
    mimetype: str
    extension: str
    size: int
    sha256: str
    data: bytes = field(repr=False)


def safe_original_name(name: str) -> str:
    """The name to show and offer for download: no folders, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if char.isspace() else char for char in name)
    # Category C holds control and format characters, such as the right-to-left override
    # that makes "report\u202efdp.exe" look like a PDF.
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > _MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= _MAX_KEPT_EXTENSION_LENGTH:
            stem = stem[: _MAX_NAME_LENGTH - len(extension) - 1].rstrip(". ")
            name = f"{stem}.{extension}"
        else:
            name = name[:_MAX_NAME_LENGTH].rstrip(". ")
    return name or "file"


def sniff(head: bytes, name: str) -> str | None:
    """The kind of file the bytes really are, or None when they are none we accept.

    Images and PDF need only the first bytes; zips and text need the whole file. The name only
    breaks ties that content cannot: which text kind, and which Office kind if several fit.
    """
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    named_kind = _KIND_BY_EXTENSION.get(_extension_of(name))
    if head.startswith(_ZIP_MAGIC):
        return _office_kind(head, named_kind)
    if _is_plain_text(head):
        return named_kind if named_kind in _TEXT_KINDS else "txt"
    return None


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """Accept the file only if it is small enough, of an allowed type, and really is what its name says."""
    original_name = safe_original_name(name)
    if not data:
        raise UploadRejected("The file is empty. Check that you chose the right file and upload it again.")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"The file must be smaller than {_describe_size(max_bytes)}. "
            "Make it smaller (for example, save it as PDF or compress its images) and upload it again."
        )
    extension = _extension_of(original_name)
    expected = _KIND_BY_EXTENSION.get(extension)
    if expected is None:
        raise UploadRejected(f"This type of file cannot be uploaded. Upload one of these instead: {_allowed_types()}.")
    if expected in _OFFICE_FOLDERS and data.startswith(_ZIP_MAGIC):
        _refuse_oversized_zip(data, ALLOWED[expected].label)
    actual = sniff(data, original_name)
    if actual != expected:
        raise UploadRejected(
            f"The file's content does not match its name: it is not a real {ALLOWED[expected].label}. "
            "Upload the original file, or save it again in that format and upload the new copy."
        )
    return CheckedUpload(
        original_name=original_name,
        kind=expected,
        mimetype=ALLOWED[expected].mimetype,
        extension=extension,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def store(checked: CheckedUpload, directory: Path) -> str:
    """Write the file under a new random name (the user's name never reaches the disk) and return that name."""
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.{checked.extension}"
    # "x" mode: a name collision fails loudly instead of overwriting someone else's file.
    with path_for(directory, stored_name).open("xb") as file:
        file.write(checked.data)
    return stored_name


def path_for(directory: Path, stored_name: str) -> Path:
    """The path of a stored file; anything but a name made by `store` is refused."""
    if not _STORED_NAME.fullmatch(stored_name):
        raise ValueError(f"Not a stored file name: {stored_name!r}")
    return directory / stored_name


def _extension_of(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _office_kind(data: bytes, named_kind: str | None) -> str | None:
    # Only the central directory is read: nothing is decompressed, so a zip bomb costs nothing here.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    fitting = [kind for kind, folder in _OFFICE_FOLDERS.items() if any(n.startswith(folder) for n in names)]
    if named_kind in fitting:
        return named_kind
    return fitting[0] if fitting else None


def _refuse_oversized_zip(data: bytes, label: str) -> None:
    """Refuse zips that would unpack to something huge, before anything reads their parts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # Not a readable zip: sniff finds no Office kind and the content mismatch says so.
    if len(entries) > _MAX_ZIP_ENTRIES or sum(entry.file_size for entry in entries) > _MAX_ZIP_UNCOMPRESSED_BYTES:
        raise UploadRejected(
            f"This {label} is too large once unpacked to be checked safely. "
            "Split it into smaller files, or save it as PDF and upload that."
        )


def _is_plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    lowered = text.lower()
    return not lowered.lstrip().startswith(_MARKUP_OPENINGS) and "<script" not in lowered


def _describe_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _allowed_types() -> str:
    return ", ".join(
        f"{allowed.label} ({', '.join('.' + extension for extension in allowed.extensions)})"
        for allowed in ALLOWED.values()
    )
