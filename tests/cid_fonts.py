"""reportlab's non-embedded CID fonts, as the Chinese PDFs of test set-up use them
(tests/document_files.py, tests/stats_documents.py): registered once per process, and the
text in the form drawString takes for each kind of face."""

from __future__ import annotations


def cid_font(font: str = "STSong-Light", encoding: str | None = None):
    """The registered face of `font` under the CMap `encoding`: a byte CMap (GBK-EUC-H) gives
    a CIDFont, None or a Unicode CMap (UniGB-UCS2-H) the font's UnicodeCIDFont. No
    /ToUnicode either way: a reader maps codes to CIDs to Unicode through Adobe's tables."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import CIDFont, UnicodeCIDFont

    face = UnicodeCIDFont(font) if encoding is None or encoding.startswith("Uni") else CIDFont(font, encoding)
    # registering a name twice would replace the face other PDFs of the process refer to
    if face.fontName not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(face)
    return pdfmetrics.getFont(face.fontName)


def drawable(face, text: str) -> str:
    """What reportlab's drawString takes: a byte-encoded CID font takes the bytes of its own
    charset (GBK for GBK-EUC-H), one character per byte; a Unicode one takes text."""
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if isinstance(face, UnicodeCIDFont):
        return text
    charset = "gbk" if "GBK" in face.encodingName else "gb2312"
    return text.encode(charset).decode("latin-1")
