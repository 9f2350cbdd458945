"""Metadata-scrubbed copies of evidence files, for the staff who triage a lead.

Rule: the reporter's identity is kept confidential (003 三(四), reporter privacy, in ``../shared/RULES.md``; the
national reward rules noted there under 002 §12(四), not yet checked against their source, say the same). Staff
receive a lead's files renamed (``services/leads/staff_files.py``), but a file's embedded metadata can still name or
locate the reporter: a phone photo's EXIF GPS position, camera model, owner and date; a Word document's author.
:func:`scrub` returns a copy without it; the stored original is never changed (it is the evidence, checked by its
SHA-256 in ``services/leads/evidence.py``).

Types are recognised by their magic bytes first, the file name's extension second. What is removed, by type, and the
codes reported in :attr:`Scrubbed.removed`:

- JPEG (lossless, the markers are walked up to the first scan, which is copied verbatim up to the image's end):
  APP1 Exif ``exif`` (``gps`` too when it holds a GPS directory), APP1 XMP ``xmp``, APP13 Photoshop/IPTC ``iptc``,
  COM ``comment``; bytes after the image's end marker (phone "motion photo" videos, depth maps, vendor trailers, which
  carry their own metadata) ``trailer``. APP0 JFIF, APP2 ICC/MPF, tables, frame and scan data are kept byte for byte.
- PNG (lossless, the other chunks keep their bytes and CRCs): tEXt/zTXt/iTXt ``text`` (``xmp`` for the XMP iTXt),
  eXIf ``exif`` (+ ``gps``), tIME ``time``; bytes after IEND ``trailer``.
- WebP: the EXIF ``exif`` (+ ``gps``) and XMP ``xmp`` chunks; their VP8X flags are cleared and the RIFF size fixed;
  bytes after the RIFF ``trailer``.
- DOCX/XLSX/PPTX (any OOXML zip): in ``docProps/core.xml`` the elements dc:creator ``author``, cp:lastModifiedBy
  ``last_modified_by``, dcterms:created/modified and cp:lastPrinted ``dates``, and title, subject, description,
  keywords, category, contentStatus, identifier, language ``properties``; in ``docProps/app.xml`` Company ``company``,
  Manager ``manager``, HyperlinkBase ``properties``. The elements are removed (they are all optional; an empty date
  would be invalid). Every other member keeps its bytes and its compression method (the compressed stream itself is
  rewritten by zipfile).
- PDF (pypdf): the document information dictionary (``author``, ``creator``, ``producer``, ``title``, ``subject``,
  ``keywords``, ``dates``, other entries ``info``) and the XMP ``/Metadata`` streams of the catalogue and the pages
  plus ``/PieceInfo`` application data (``xmp``). The result is read back; if anything survived, the file is reported
  unsupported.
- Plain text: ``clean`` (it has no embedded metadata).

Not removable here, reported as ``unsupported`` (staff are told to treat the file's properties with care): HEIC/AVIF,
MP4/MOV/M4A, MP3, AMR, GIF, the binary DOC/XLS (OLE2), encrypted PDFs, zips that are not OOXML, anything unrecognised,
and a file of a supported type that is malformed (logged at warning with its type and size, never its content or
name). Known limits of a scrubbed file: tracked-change and comment authors inside a DOCX, custom properties in
``docProps/custom.xml``, part titles listed in ``docProps/app.xml`` (TitlesOfParts), and images embedded inside PDFs
or Office documents keep whatever they carry.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree  # parts with a DTD are refused before parsing, see _drop_elements

logger = logging.getLogger(__name__)

Status = Literal["clean", "scrubbed", "unsupported"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a zip declaring more than this once unpacked is refused (zip bomb)


@dataclass(frozen=True)
class Scrubbed:
    """A copy of a file for staff: ``data``, what was removed (codes in the module docstring) and ``status``:
    ``clean`` (nothing found, ``data`` is the original), ``scrubbed`` or ``unsupported`` (``data`` is the original,
    whose metadata could not be removed); ``kind`` is the type recognised."""

    data: bytes
    removed: tuple[str, ...] = ()
    status: Status = "clean"
    kind: str = "unknown"


class _Malformed(ValueError):
    """A file of a supported type whose structure cannot be walked safely."""


_BY_EXTENSION = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "pdf": "pdf", "docx": "zip",
                 "xlsx": "zip", "pptx": "zip", "doc": "ole2", "xls": "ole2", "heic": "heic", "mp4": "video",
                 "mov": "video", "m4a": "audio", "mp3": "audio", "amr": "audio", "gif": "gif", "txt": "text"}


def detect(file_name: str, data: bytes) -> str:
    """The type of a file by its magic bytes, else by its name's extension (``unknown`` when neither tells)."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "heic" if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif") else (
            "audio" if brand.startswith(b"M4A") else "video")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"ID3", b"#!AMR")):
        return "audio"
    if b"%PDF-" in data[:1024]:  # a PDF may start with a few bytes of junk
        return "pdf"
    ext = file_name.rsplit(".", 1)[1].lower() if "." in file_name else ""
    return _BY_EXTENSION.get(ext, "unknown")


def scrub(file_name: str, data: bytes) -> Scrubbed:
    """A copy of ``data`` without the embedded metadata that could identify who made or sent it."""
    kind = detect(file_name, data)
    scrubber = _SCRUBBERS.get(kind)
    if scrubber is None:
        status: Status = "clean" if kind == "text" and _is_text(data) else "unsupported"
        return Scrubbed(data, (), status, kind)
    try:
        result = scrubber(data)
    except Exception as error:  # a parser of untrusted input: whatever it raises, the file is not scrubbed
        logger.warning("evidence scrub: malformed %s file (%d bytes): %s", kind, len(data), type(error).__name__)
        return Scrubbed(data, (), "unsupported", kind)
    if result is None:
        return Scrubbed(data, (), "unsupported", kind)
    cleaned, removed = result
    if not removed:
        return Scrubbed(data, (), "clean", kind)
    return Scrubbed(cleaned, tuple(dict.fromkeys(removed)), "scrubbed", kind)


def _is_text(data: bytes) -> bool:
    encodings = ("utf-16",) if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


# --- EXIF ------------------------------------------------------------------------------------------------------------

def _exif_codes(tiff: bytes) -> list[str]:
    """``exif``, plus ``gps`` when the first directory points to a GPS directory (tag 0x8825)."""
    tiff = tiff.removeprefix(b"Exif\x00\x00")
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return ["exif"]
    (offset,) = struct.unpack_from(order + "I", tiff, 4)
    if offset + 2 > len(tiff):
        return ["exif"]
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    for entry in range(offset + 2, min(offset + 2 + 12 * count, len(tiff) - 11), 12):
        if struct.unpack_from(order + "H", tiff, entry)[0] == 0x8825:
            return ["exif", "gps"]
    return ["exif"]


# --- JPEG ------------------------------------------------------------------------------------------------------------

_XMP_IDS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _jpeg_codes(marker: int, payload: bytes) -> list[str]:
    if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
        return _exif_codes(payload)
    if marker == 0xE1 and payload.startswith(_XMP_IDS):
        return ["xmp"]
    if marker == 0xED:
        return ["iptc"]
    if marker == 0xFE:
        return ["comment"]
    return []


def _scrub_jpeg(data: bytes) -> tuple[bytes, list[str]]:
    out, removed, pos, size = bytearray(data[:2]), [], 2, len(data)
    while True:
        start = pos
        if pos >= size or data[pos] != 0xFF:
            raise _Malformed("marker expected")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos + 3 > size:
            raise _Malformed("truncated")
        marker, pos = data[pos], pos + 1
        if marker in _STANDALONE:
            out += data[start:pos]
            continue
        if marker == 0xD9:
            raise _Malformed("no scan")
        end = pos + int.from_bytes(data[pos:pos + 2], "big")
        if end < pos + 2 or end > size:
            raise _Malformed("segment length")
        if marker == 0xDA:  # start of scan: the image data, copied verbatim up to the end of the image
            image_end = _jpeg_image_end(data, pos - 2)
            out += data[start:image_end]
            if image_end < size:
                removed.append("trailer")
            return bytes(out), removed
        codes = _jpeg_codes(marker, data[pos + 2:end])
        if codes:
            removed += codes
        else:
            out += data[start:end]
        pos = end


def _jpeg_image_end(data: bytes, pos: int) -> int:
    """Just past the image's end marker (EOI), walking scans from ``pos``; ``len(data)`` when there is none."""
    size = len(data)
    while pos + 4 <= size:
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            return size
        pos += 2 + length
        while True:  # entropy-coded data: 0xFF is followed by 0x00 (stuffing), a restart marker or fill
            pos = data.find(b"\xff", pos)
            if pos < 0 or pos + 1 >= size:
                return size
            following = data[pos + 1]
            if following in (0x00, 0xFF) or following in _STANDALONE:
                pos += 1 if following == 0xFF else 2
                continue
            break
        if following == 0xD9:
            return pos + 2
    return size


# --- PNG, WebP -------------------------------------------------------------------------------------------------------

def _scrub_png(data: bytes) -> tuple[bytes, list[str]]:
    out, removed, pos, size = bytearray(PNG_SIGNATURE), [], len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 12 > size:
            raise _Malformed("truncated")
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > size or not kind.isalpha():
            raise _Malformed("chunk")
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            removed.append("xmp" if data[pos + 8:pos + 26] == b"XML:com.adobe.xmp\x00" else "text")
        elif kind == b"eXIf":
            removed += _exif_codes(data[pos + 8:end - 4])
        elif kind == b"tIME":
            removed.append("time")
        else:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    if pos < size:
        removed.append("trailer")
    return bytes(out), removed


_VP8X_FLAGS = {b"EXIF": 0x08, b"XMP ": 0x04}


def _scrub_webp(data: bytes) -> tuple[bytes, list[str]]:
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data) or riff_end < 12:
        raise _Malformed("RIFF size")
    chunks: list[bytearray] = []
    removed: list[str] = []
    cleared = 0
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise _Malformed("truncated")
        fourcc, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + length > riff_end:
            raise _Malformed("chunk size")
        end = min(pos + 8 + length + (length & 1), riff_end)
        if fourcc == b"EXIF":
            removed += _exif_codes(data[pos + 8:pos + 8 + length])
        elif fourcc == b"XMP ":
            removed.append("xmp")
        if fourcc in _VP8X_FLAGS:
            cleared |= _VP8X_FLAGS[fourcc]
        else:
            chunks.append(bytearray(data[pos:end]))
        pos = end
    for chunk in chunks:
        if chunk[:4] == b"VP8X" and len(chunk) > 8:
            chunk[8] &= ~cleared & 0xFF
    if riff_end < len(data):
        removed.append("trailer")
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body, removed


# --- OOXML -----------------------------------------------------------------------------------------------------------

_CORE_DROPS = {"creator": "author", "lastModifiedBy": "last_modified_by", "created": "dates", "modified": "dates",
               "lastPrinted": "dates", **dict.fromkeys(("title", "subject", "description", "keywords", "category",
                                                         "contentStatus", "identifier", "language"), "properties")}
_APP_DROPS = {"Company": "company", "Manager": "manager", "HyperlinkBase": "properties"}
_PARTS = {"docProps/core.xml": _CORE_DROPS, "docProps/app.xml": _APP_DROPS}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _filled(root: ElementTree.Element, names: Iterable[str]) -> set[str]:
    wanted = set(names)
    return {_local(c.tag) for c in root if _local(c.tag) in wanted and ((c.text or "").strip() or len(c))}


def _drop_elements(xml: bytes, drops: dict[str, str]) -> tuple[bytes, list[str]]:
    """``xml`` without its filled top-level elements named in ``drops``; the rest of the text is kept as it was."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:  # OOXML parts have no DTD: refusing one rules out entity tricks
        raise _Malformed("DTD in an OOXML part")
    found = _filled(ElementTree.fromstring(xml), drops)  # noqa: S314 - no DTD, see above
    if not found:
        return xml, []
    text = xml.decode("utf-8")
    for name in sorted(found):
        text = re.sub(rf"<(?P<p>(?:[A-Za-z_][\w.-]*:)?){name}\b[^>]*?(?:/>|>.*?</(?P=p){name}\s*>)", "", text,
                      flags=re.DOTALL)
    cleaned = text.encode("utf-8")
    if _filled(ElementTree.fromstring(cleaned), found):  # noqa: S314 - same text, less
        raise _Malformed("element not removed")
    return cleaned, [drops[name] for name in sorted(found)]


def _scrub_ooxml(data: bytes) -> tuple[bytes, list[str]] | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if "[Content_Types].xml" not in names:
            return None  # a zip, but not an Office document
        if len(set(names)) != len(names) or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise _Malformed("duplicate members or too large unpacked")
        replaced: dict[str, bytes] = {}
        removed: list[str] = []
        for part, drops in _PARTS.items():
            if part in names:
                cleaned, codes = _drop_elements(archive.read(part), drops)
                if codes:
                    replaced[part], removed = cleaned, removed + codes
        if not removed:
            return data, []
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            target.comment = archive.comment
            for info in infos:
                member = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                member.compress_type, member.external_attr = info.compress_type, info.external_attr
                member.create_system, member.comment = info.create_system, info.comment
                content = replaced[info.filename] if info.filename in replaced else archive.read(info)
                target.writestr(member, content)
    return out.getvalue(), removed


# --- PDF -------------------------------------------------------------------------------------------------------------

_PDF_INFO = {"/Author": "author", "/Creator": "creator", "/Producer": "producer", "/Title": "title",
             "/Subject": "subject", "/Keywords": "keywords", "/CreationDate": "dates", "/ModDate": "dates"}
_PDF_PRIVATE = ("/Metadata", "/PieceInfo")


def _scrub_pdf(data: bytes) -> tuple[bytes, list[str]] | None:
    from pypdf import PdfReader, PdfWriter  # loaded only when a PDF arrives (start-up, issue 21)

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        return None
    removed = [_PDF_INFO.get(str(key), "info") for key in (reader.metadata or {})]
    holders = [reader.root_object, *reader.pages]
    if any(key in holder for holder in holders for key in _PDF_PRIVATE):
        removed.append("xmp")
    if not removed:
        return data, []
    for holder in holders:  # before cloning, so that only what is still reachable is copied (no orphans)
        for key in _PDF_PRIVATE:
            if key in holder:
                del holder[key]
    writer = PdfWriter(clone_from=reader)
    writer.metadata = None
    out = io.BytesIO()
    writer.write(out)
    check = PdfReader(io.BytesIO(out.getvalue()))
    if check.metadata or any(key in h for h in (check.root_object, *check.pages) for key in _PDF_PRIVATE):
        raise _Malformed("metadata survived the rewrite")
    return out.getvalue(), removed


_SCRUBBERS: dict[str, Callable[[bytes], tuple[bytes, list[str]] | None]] = {
    "jpeg": _scrub_jpeg, "png": _scrub_png, "webp": _scrub_webp, "zip": _scrub_ooxml, "pdf": _scrub_pdf}
