"""Uploads: real small files are accepted, disguised or oversized ones refused, names made harmless."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import struct
import zipfile

import pytest

from app.errors import DomainError
from app.portal.uploads import (
    ALLOWED,
    CheckedUpload,
    UploadRejected,
    check_upload,
    path_for,
    safe_original_name,
    sniff,
    store,
)

MB = 1024 * 1024
LIMIT = 20 * MB
MISMATCH = "The file's content does not match its name"

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode."
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

OFFICE_MAIN_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}


def make_zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_office(kind: str, extra_entries: int = 0) -> bytes:
    """A minimal Office Open XML package of the kind, optionally padded with empty entries."""
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        OFFICE_MAIN_PARTS[kind]: b'<?xml version="1.0"?><root/>',
    }
    parts.update({f"padding/{number}.xml": b"" for number in range(extra_entries)})
    return make_zip(parts)


def with_declared_size(zip_data: bytes, entry_index: int, declared_size: int) -> bytes:
    """The zip with one entry's uncompressed size in the central directory changed (as a zip bomb lies)."""
    offsets = [match.start() for match in re.finditer(re.escape(b"PK\x01\x02"), zip_data)]
    size_field = offsets[entry_index] + 24
    return zip_data[:size_field] + struct.pack("<I", declared_size) + zip_data[size_field + 4 :]


def rejection(name: str, data: bytes, max_bytes: int = LIMIT) -> str:
    with pytest.raises(UploadRejected) as caught:
        check_upload(name, data, max_bytes)
    return caught.value.message


ACCEPTED = [
    ("report.pdf", PDF, "pdf"),
    ("minutes.docx", make_office("docx"), "docx"),
    ("budget.xlsx", make_office("xlsx"), "xlsx"),
    ("slides.pptx", make_office("pptx"), "pptx"),
    ("logo.png", PNG, "png"),
    ("photo.jpg", JPEG, "jpeg"),
    ("photo.jpeg", JPEG, "jpeg"),
    ("anim.gif", GIF, "gif"),
    ("notes.txt", "Notes from the workshop: café, naïve, 東京.\n".encode(), "txt"),
    ("people.csv", b"name,email\nAda,ada@example.org\n", "csv"),
    ("README.md", b"# Title\n\nSome *Markdown* with a <b>tag</b>.\n", "md"),
]


def test_every_allowed_kind_is_covered_by_a_real_file():
    assert {kind for _, _, kind in ACCEPTED} == set(ALLOWED)


@pytest.mark.parametrize(("name", "data", "kind"), ACCEPTED, ids=[name for name, _, _ in ACCEPTED])
def test_real_files_of_each_allowed_kind_are_accepted(name, data, kind):
    checked = check_upload(name, data, LIMIT)

    assert checked.kind == kind
    assert checked.mimetype == ALLOWED[kind].mimetype
    assert checked.extension == name.rsplit(".", 1)[1].lower()
    assert checked.original_name == name
    assert checked.size == len(data)
    assert checked.data == data


def test_extension_case_does_not_matter():
    checked = check_upload("SCAN.PDF", PDF, LIMIT)

    assert (checked.kind, checked.extension, checked.original_name) == ("pdf", "pdf", "SCAN.PDF")


def test_text_with_a_byte_order_mark_is_accepted():
    assert check_upload("excel-export.csv", b"\xef\xbb\xbfname;score\nAda;3\n", LIMIT).kind == "csv"


def test_sha256_is_the_hash_of_the_bytes():
    assert check_upload("report.pdf", PDF, LIMIT).sha256 == hashlib.sha256(PDF).hexdigest()


def test_checked_upload_is_frozen_and_does_not_print_its_bytes():
    checked = check_upload("report.pdf", PDF, LIMIT)

    with pytest.raises(dataclasses.FrozenInstanceError):
        checked.kind = "png"  # type: ignore[misc]
    assert "%PDF" not in repr(checked)


def test_rejection_is_a_domain_error_on_the_file_field():
    with pytest.raises(DomainError) as caught:
        check_upload("report.pdf", b"", LIMIT)

    assert isinstance(caught.value, UploadRejected)
    assert caught.value.field == "file"
    assert caught.value.status_code == 400


def test_empty_file_is_rejected():
    assert "The file is empty" in rejection("report.pdf", b"")


def test_file_larger_than_the_limit_is_rejected_with_the_limit_in_mb():
    message = rejection("report.pdf", PDF + b"\x00" * LIMIT)

    assert message.startswith("The file must be smaller than 20 MB.")


def test_limit_is_inclusive_and_small_limits_are_described_plainly():
    assert check_upload("report.pdf", PDF, len(PDF)).size == len(PDF)
    assert "smaller than 10 bytes" in rejection("report.pdf", PDF, max_bytes=10)
    assert "smaller than 1.5 MB" in rejection("report.pdf", PDF + b"\x00" * (2 * MB), max_bytes=3 * MB // 2)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup.exe", EXE),
        ("page.html", HTML),
        ("drawing.svg", SVG),
        ("app.js", b"alert(1)\n"),
        ("macros.docm", make_office("docx")),
        ("report.pdf.exe", EXE),
        ("README", b"no extension\n"),
        (".pdf", PDF),
    ],
)
def test_types_that_are_not_allowed_are_rejected_with_the_allowed_list(name, data):
    message = rejection(name, data)

    assert message.startswith("This type of file cannot be uploaded.")
    for extension in (".pdf", ".docx", ".xlsx", ".pptx", ".png", ".jpg", ".jpeg", ".gif", ".txt", ".csv", ".md"):
        assert extension in message


@pytest.mark.parametrize(
    ("name", "data", "label"),
    [
        ("invoice.pdf", EXE, "PDF"),
        ("notes.txt", HTML, "text file"),
        ("logo.png", SVG, "PNG image"),
        ("minutes.docx", make_zip({"hello.txt": b"hello"}), "Word document"),
        ("minutes.docx", make_zip({"word/document.xml": b"<w/>"}), "Word document"),
        ("minutes.docx", PDF, "Word document"),
        ("budget.xlsx", make_office("docx"), "Excel workbook"),
        ("minutes.docx", b"PK\x03\x04 but not really a zip", "Word document"),
        ("photo.jpg", PNG, "JPEG image"),
        ("report.pdf", b"Just some text pretending.\n", "PDF"),
        ("people.csv", "olé;1\n".encode("latin-1"), "CSV file"),
        ("people.csv", "name\n".encode("utf-16"), "CSV file"),
        ("README.md", b"<!DOCTYPE html>\n<p>hi</p>", "Markdown file"),
        ("README.md", b"  \n\t<HTML><body>", "Markdown file"),
        ("data.csv", b'<?xml version="1.0"?><a/>', "CSV file"),
        ("notes.txt", b"  <svg onload=alert(1)>", "text file"),
        ("notes.txt", b"harmless start\n...\n<ScRiPt src=//evil.example></script>", "text file"),
        ("notes.txt", b"hello\x00world", "text file"),
    ],
)
def test_disguised_files_are_rejected_because_content_does_not_match_the_name(name, data, label):
    message = rejection(name, data)

    assert message.startswith(f"{MISMATCH}: it is not a real {label}.")


def test_zip_with_too_many_entries_is_refused_before_its_parts_are_read():
    assert check_upload("big.docx", make_office("docx", extra_entries=4997), LIMIT).kind == "docx"  # 5000 entries

    message = rejection("bomb.docx", make_office("docx", extra_entries=4998))  # 5001 entries

    assert "too large once unpacked" in message


def test_zip_declaring_a_huge_uncompressed_size_is_refused():
    at_limit = with_declared_size(make_office("xlsx"), entry_index=2, declared_size=200 * MB - 1000)
    assert check_upload("sheet.xlsx", at_limit, LIMIT).kind == "xlsx"

    bomb = with_declared_size(make_office("xlsx"), entry_index=2, declared_size=200 * MB + 1)

    assert "too large once unpacked" in rejection("sheet.xlsx", bomb)


def test_many_entries_in_a_zip_named_like_another_type_get_the_mismatch_message():
    assert rejection("report.pdf", make_office("docx", extra_entries=5000)).startswith(MISMATCH)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("/absolute/path/to/.hidden.pdf", "hidden.pdf"),
        ("...pdf.pdf", "pdf.pdf"),
        ("annual\nreport\r\n2024.pdf", "annual report 2024.pdf"),
        ("tabs\t\tand   spaces .pdf", "tabs and spaces .pdf"),
        ("bell\x07and\x1besc.pdf", "bellandesc.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("  report.pdf  ", "report.pdf"),
        ("report.pdf.", "report.pdf"),
        ("", "file"),
        ("../", "file"),
        ("...", "file"),
        ("\n\x00\t", "file"),
        ("Cafe\u0301 menu.pdf", "Café menu.pdf"),
    ],
)
def test_names_lose_folders_control_characters_and_leading_dots(name, safe):
    result = safe_original_name(name)

    assert result == safe
    assert "/" not in result and "\\" not in result
    assert not result.startswith(".")
    assert not any(char in result for char in "\n\r\t\x00")


def test_uploads_keep_the_safe_name():
    assert check_upload("..\\..\\Windows\\evil\n.pdf", PDF, LIMIT).original_name == "evil .pdf"


def test_long_names_are_cut_to_150_characters_keeping_the_extension():
    result = safe_original_name("a" * 300 + ".pdf")

    assert len(result) == 150
    assert result.endswith("a.pdf")


def test_long_names_without_a_short_extension_are_just_cut():
    assert safe_original_name("b" * 300) == "b" * 150


def test_sniff_reads_the_content_not_the_name():
    assert sniff(PDF[:8], "photo.png") == "pdf"
    assert sniff(JPEG[:3], "anything") == "jpeg"
    assert sniff(GIF.replace(b"GIF89a", b"GIF87a"), "x.gif") == "gif"
    assert sniff(make_office("pptx"), "slides.docx") == "pptx"
    assert sniff(b"plain words", "data.csv") == "csv"
    assert sniff(b"plain words", "picture.png") == "txt"
    assert sniff(EXE, "setup.exe") is None
    assert sniff(HTML, "page.txt") is None


def test_store_writes_under_a_random_name_never_the_users(tmp_path):
    checked = check_upload("../../etc/passwd.pdf", PDF, LIMIT)
    directory = tmp_path / "uploads" / "nested"

    first = store(checked, directory)
    second = store(checked, directory)

    assert first != second
    for stored_name in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}\.pdf", stored_name)
        assert path_for(directory, stored_name).read_bytes() == PDF
    assert sorted(path.name for path in directory.iterdir()) == sorted([first, second])
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    "stored_name",
    [
        "../x.pdf",
        "abc.pdf",
        "",
        "0" * 32,
        "0" * 32 + ".pdf\n",
        "0" * 32 + ".PDF",
        "A" * 32 + ".pdf",
        "0" * 31 + ".pdf",
        "0" * 32 + ".toolong",
        "0" * 32 + "/../x.pdf",
        "../" + "0" * 32 + ".pdf",
    ],
)
def test_path_for_refuses_anything_but_a_stored_name(tmp_path, stored_name):
    with pytest.raises(ValueError):
        path_for(tmp_path, stored_name)


def test_path_for_accepts_a_stored_name(tmp_path):
    assert path_for(tmp_path, "0123456789abcdef0123456789abcdef.jpeg") == tmp_path / (
        "0123456789abcdef0123456789abcdef.jpeg"
    )


def test_check_upload_returns_the_dataclass():
    assert isinstance(check_upload("report.pdf", PDF, LIMIT), CheckedUpload)
