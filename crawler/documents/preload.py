"""What the document readers' fork server imports once, so that no reader child pays for it
(see isolate): the readers and the libraries they import lazily."""

import pdfplumber  # noqa: F401
import pdfminer.pdfdocument  # noqa: F401

from nianbao.crawler.cleanup import normalize_chars  # noqa: F401

from . import formats  # noqa: F401
