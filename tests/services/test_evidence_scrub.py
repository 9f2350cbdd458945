"""Evidence copies for staff lose the metadata that could identify the reporter (003 三(四)): small real files are built
here (JPEG with EXIF GPS, PNG with text chunks, WebP with EXIF/XMP, DOCX/XLSX with an author, PDF with /Author and XMP),
scrubbed, and checked: the identifying strings are gone, the content is intact, malformed files and unsupported types
come back untouched and say so."""

from __future__ import annotations

import io
import logging
import struct
import zipfile
import zlib

import docx
import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from services.leads.evidence_scrub import Scrubbed, detect, scrub

REPORTER = "陈监督"
PHONE = b"SecretPhone X1"


# --- builders --------------------------------------------------------------------------------------------------------

def exif_tiff(*, artist: str = REPORTER, gps: bool = True) -> bytes:
    """A little-endian TIFF block: IFD0 with Make, Artist and (optionally) a GPS directory holding a latitude."""
    make, who = PHONE + b"\x00", artist.encode() + b"\x00"
    count = 3 if gps else 2
    make_at = 8 + 2 + 12 * count + 4
    who_at = make_at + len(make)
    gps_at = who_at + len(who)
    ifd0 = struct.pack("<H", count)
    ifd0 += struct.pack("<HHII", 0x010F, 2, len(make), make_at)
    ifd0 += struct.pack("<HHII", 0x013B, 2, len(who), who_at)
    if gps:
        ifd0 += struct.pack("<HHII", 0x8825, 4, 1, gps_at)
    ifd0 += b"\x00\x00\x00\x00"
    block = b"II*\x00" + struct.pack("<I", 8) + ifd0 + make + who
    if gps:
        values_at = gps_at + 2 + 12 * 2 + 4
        block += struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 2) + b"N\x00\x00\x00"
        block += struct.pack("<HHII", 2, 5, 3, values_at) + b"\x00\x00\x00\x00"
        block += struct.pack("<6I", 44, 1, 18, 1, 3600, 100)  # 44°18'36" N
    return block


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


JFIF = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
ICC = segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"profile bytes")
TABLES = (segment(0xDB, b"\x00" + bytes(range(64)))
          + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
          + segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00"))
# the scan: stuffed 0xFF00 bytes and a restart marker inside the entropy-coded data, then the end of the image
SCAN = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\xff\x00\x34\xff\xd0\x56\x78" + b"\xff\xd9"


def jpeg(*metadata: bytes, trailer: bytes = b"") -> bytes:
    return b"\xff\xd8" + JFIF + b"".join(metadata) + ICC + TABLES + SCAN + trailer


EXIF_APP1 = segment(0xE1, b"Exif\x00\x00" + exif_tiff())
XMP_APP1 = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:creator>" + REPORTER.encode()
                   + b"</dc:creator></x:xmpmeta>")
IPTC_APP13 = segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0a\x1c\x02\x50\x00\x06" + "陈".encode())
COMMENT = segment(0xFE, b"taken by " + REPORTER.encode())


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
IEND = chunk(b"IEND", b"")


def png(*extra: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + IHDR + b"".join(extra) + IDAT + IEND


def chunks_of(data: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append(data[pos:pos + 12 + length])
        pos += 12 + length
    return out


def riff(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


VP8L = riff(b"VP8L", b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07")  # odd length: padded


def webp(*chunks: bytes, flags: int = 0x0C) -> bytes:
    vp8x = riff(b"VP8X", bytes([flags, 0, 0, 0]) + b"\x00\x00\x00" + b"\x00\x00\x00")
    body = b"WEBP" + vp8x + VP8L + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def riff_chunks(data: bytes) -> dict[bytes, bytes]:
    out, pos = {}, 12
    while pos < len(data):
        length = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out[data[pos:pos + 4]] = data[pos:pos + 8 + length + (length & 1)]
        pos += 8 + length + (length & 1)
    return out


def docx_by_reporter() -> bytes:
    document = docx.Document()
    document.add_paragraph("住院病人每天被重复收取护理费")
    document.core_properties.author = REPORTER
    document.core_properties.last_modified_by = "chen_jiandu"
    document.core_properties.title = f"{REPORTER}的举报材料"
    buffer = io.BytesIO()
    document.save(buffer)
    return with_app_properties(buffer.getvalue(), company="石河子某诊所", manager="陈经理")


def with_app_properties(data: bytes, *, company: str, manager: str) -> bytes:
    """The same package with Company and Manager added to docProps/app.xml."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/app.xml":
                extra = f"<Company>{company}</Company><Manager>{manager}</Manager></Properties>"
                content = content.replace(b"</Properties>", extra.encode())
            target.writestr(info, content)
    return out.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def pdf_by_reporter(*, author: str = "Chen Jiandu", xmp: bool = True) -> bytes:
    writer = PdfWriter()
    for text in ("Hospital bill 2026", "Page two"):
        page = writer.add_blank_page(300, 300)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 20 200 Td ({text}) Tj ET".encode())
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    writer.add_metadata({"/Author": author, "/Creator": "WPS on Chen's phone", "/Title": "report", "/Keywords": "lead"})
    if xmp:
        stream = DecodedStreamObject()
        stream.set_data(f"<x:xmpmeta><dc:creator>{author} XMP</dc:creator></x:xmpmeta>".encode())
        stream[NameObject("/Type")] = NameObject("/Metadata")
        writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- JPEG ------------------------------------------------------------------------------------------------------------

def test_a_jpeg_loses_exif_gps_xmp_iptc_and_comments_and_keeps_jfif_icc_tables_and_the_scan_byte_for_byte() -> None:
    original = jpeg(EXIF_APP1, XMP_APP1, IPTC_APP13, COMMENT)
    result = scrub("IMG_0001.jpg", original)
    assert result.status == "scrubbed" and result.kind == "jpeg"
    assert result.removed == ("exif", "gps", "xmp", "iptc", "comment")
    assert result.data == b"\xff\xd8" + JFIF + ICC + TABLES + SCAN
    for secret in (PHONE, REPORTER.encode(), "陈".encode(), b"Exif\x00\x00", b"ns.adobe.com"):
        assert secret not in result.data
    scan_at = original.index(b"\xff\xda")
    assert result.data.endswith(original[scan_at:])  # everything from the start of scan on is untouched


def test_an_exif_block_without_a_gps_directory_is_reported_as_exif_only() -> None:
    result = scrub("a.jpg", jpeg(segment(0xE1, b"Exif\x00\x00" + exif_tiff(gps=False))))
    assert result.removed == ("exif",)


def test_a_jpeg_with_no_metadata_is_clean_and_returned_as_it_is() -> None:
    original = jpeg()
    assert scrub("a.jpg", original) == Scrubbed(original, (), "clean", "jpeg")


def test_bytes_after_the_end_of_a_jpeg_image_are_dropped_as_they_carry_their_own_metadata() -> None:
    appended = b"\xff\xd8" + EXIF_APP1 + SCAN  # e.g. a second picture of a multi-picture file, or a motion photo
    result = scrub("a.jpg", jpeg(trailer=appended))
    assert result.status == "scrubbed" and result.removed == ("trailer",)
    assert result.data == jpeg() and PHONE not in result.data


def test_a_jpeg_is_recognised_by_its_bytes_whatever_its_name() -> None:
    assert detect("evidence.pdf", jpeg()) == "jpeg"
    assert scrub("no-extension", jpeg(COMMENT)).removed == ("comment",)


# --- PNG, WebP -------------------------------------------------------------------------------------------------------

def test_a_png_loses_its_text_exif_and_time_chunks_and_keeps_the_others_with_their_crcs() -> None:
    text = chunk(b"tEXt", b"Author\x00" + REPORTER.encode())
    compressed = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"phone of chen"))
    xmp = chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>" + REPORTER.encode() + b"</x:xmpmeta>")
    exif, time = chunk(b"eXIf", exif_tiff()), chunk(b"tIME", b"\x07\xea\x03\x05\x0a\x00\x00")
    result = scrub("screen.png", png(text, compressed, xmp, exif, time))
    assert result.status == "scrubbed"
    assert result.removed == ("text", "xmp", "exif", "gps", "time")
    assert result.data == png()
    assert chunks_of(result.data) == [IHDR, IDAT, IEND]  # IDAT (the picture) and every CRC as they were
    assert REPORTER.encode() not in result.data and PHONE not in result.data


def test_a_webp_loses_its_exif_and_xmp_chunks_with_their_flags_and_gets_a_correct_riff_size() -> None:
    original = webp(riff(b"EXIF", exif_tiff()), riff(b"XMP ", b"<x:xmpmeta>" + REPORTER.encode() + b"</x:xmpmeta>"))
    result = scrub("photo.webp", original)
    assert result.status == "scrubbed" and result.removed == ("exif", "gps", "xmp")
    assert struct.unpack("<I", result.data[4:8])[0] == len(result.data) - 8
    chunks = riff_chunks(result.data)
    assert list(chunks) == [b"VP8X", b"VP8L"]
    assert chunks[b"VP8L"] == VP8L  # the picture
    assert chunks[b"VP8X"][8] & 0x0C == 0
    assert REPORTER.encode() not in result.data and PHONE not in result.data


# --- DOCX, XLSX ------------------------------------------------------------------------------------------------------

def test_a_docx_loses_its_author_and_company_and_keeps_its_text_and_every_other_member() -> None:
    original = docx_by_reporter()
    result = scrub("举报材料.docx", original)
    assert result.status == "scrubbed" and result.kind == "zip"
    assert set(result.removed) == {"author", "last_modified_by", "dates", "properties", "company", "manager"}
    document = docx.Document(io.BytesIO(result.data))
    assert [p.text for p in document.paragraphs] == ["住院病人每天被重复收取护理费"]
    assert document.core_properties.author == "" and document.core_properties.last_modified_by == ""
    before, after = members(original), members(result.data)
    assert list(after) == list(before)
    for name, content in after.items():
        for secret in (REPORTER, "chen_jiandu", "石河子某诊所", "陈经理"):
            assert secret.encode() not in content, (name, secret)
        if not name.startswith("docProps/"):
            assert content == before[name], name
    with zipfile.ZipFile(io.BytesIO(original)) as old, zipfile.ZipFile(io.BytesIO(result.data)) as new:
        assert [i.compress_type for i in new.infolist()] == [i.compress_type for i in old.infolist()]
    assert b"<cp:revision>" in after["docProps/core.xml"]  # what identifies no one stays


def test_an_xlsx_loses_its_creator_and_keeps_its_cells() -> None:
    workbook = Workbook()
    workbook.active["A1"] = "护理费"
    workbook.properties.creator = REPORTER
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = scrub("账单.xlsx", buffer.getvalue())
    assert result.status == "scrubbed" and "author" in result.removed
    assert REPORTER.encode() not in result.data
    assert load_workbook(io.BytesIO(result.data)).active["A1"].value == "护理费"


def test_an_office_document_without_identifying_properties_is_clean_and_returned_as_it_is() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("docProps/core.xml", '<?xml version="1.0"?><cp:coreProperties xmlns:cp="urn:cp" '
                         'xmlns:dc="urn:dc"><dc:creator/><cp:lastModifiedBy>  </cp:lastModifiedBy>'
                         "<cp:revision>3</cp:revision></cp:coreProperties>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert scrub("a.docx", out.getvalue()) == Scrubbed(out.getvalue(), (), "clean", "zip")


# --- PDF -------------------------------------------------------------------------------------------------------------

def test_a_pdf_loses_its_document_information_and_xmp_and_keeps_its_pages_and_text() -> None:
    original = pdf_by_reporter()
    assert b"Chen Jiandu" in original
    result = scrub("bill.pdf", original)
    assert result.status == "scrubbed" and result.kind == "pdf"
    assert set(result.removed) == {"author", "creator", "title", "keywords", "producer", "xmp"}
    assert b"Chen" not in result.data
    reader = PdfReader(io.BytesIO(result.data))
    assert not reader.metadata and "/Metadata" not in reader.root_object
    assert len(reader.pages) == 2
    assert "Hospital bill 2026" in reader.pages[0].extract_text()
    assert "Page two" in reader.pages[1].extract_text()


# --- malformed and unsupported ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data"), [
    ("a.jpg", b"\xff\xd8\xff\xe1\x00\x40Exif\x00\x00" + "陈监督".encode()),  # segment longer than the file
    ("a.jpg", b"\xff\xd8\xff\xe0 first photo " * 50),
    ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x05tEXt" + "陈监督".encode()),  # truncated chunk
    ("a.png", png()[:-12]),  # no IEND
    ("a.webp", b"RIFF\xff\xff\x00\x00WEBPVP8X"),  # RIFF size beyond the file
    ("a.docx", b"PK\x03\x04 not really a zip " + "陈监督".encode()),
    ("a.docx", "陈监督".encode() * 10),  # a .docx that is not a zip at all
    ("a.pdf", b"%PDF-1.4 hospital bill " * 100),
    ("a.jpg", b"just some bytes"),  # named like a JPEG, looks like nothing
])
def test_a_malformed_file_comes_back_untouched_as_unsupported_and_is_logged_without_its_content(
    name: str, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.leads.evidence_scrub"):
        result = scrub(name, data)
    assert result.status == "unsupported" and result.data == data and result.removed == ()
    for record in caplog.records:
        assert "陈监督" not in record.getMessage() and name not in record.getMessage()


def test_an_office_part_with_a_dtd_is_refused_rather_than_parsed() -> None:
    original = docx_by_reporter()
    source, out = zipfile.ZipFile(io.BytesIO(original)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = content.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            target.writestr(info, content)
    result = scrub("a.docx", out.getvalue())
    assert result.status == "unsupported" and result.data == out.getvalue()


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("IMG_0002.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32, "heic"),
    ("clip.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32, "video"),
    ("clip.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 32, "video"),
    ("voice.m4a", b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isom" + b"\x00" * 32, "audio"),
    ("voice.amr", b"#!AMR\n" + b"\x00" * 32, "audio"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "ole2"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "ole2"),
    ("anim.gif", b"GIF89a" + b"\x00" * 32, "gif"),
    ("archive.zip", b"", "unknown"),
])
def test_a_type_whose_metadata_cannot_be_removed_is_reported_unsupported(name: str, data: bytes, kind: str) -> None:
    result = scrub(name, data)
    assert (result.status, result.kind, result.data, result.removed) == ("unsupported", kind, data, ())


def test_a_zip_that_is_not_an_office_document_is_unsupported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", jpeg(EXIF_APP1))
    result = scrub("photos.docx", out.getvalue())
    assert result.status == "unsupported" and result.data == out.getvalue()


def test_plain_text_has_no_metadata_to_remove() -> None:
    text = "2026年3月5日 护理费单据".encode("gb18030")
    assert scrub("notes.txt", text) == Scrubbed(text, (), "clean", "text")
