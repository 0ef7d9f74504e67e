"""The child process of `isolate`: a document on stdin, its DocumentText as JSON on stdout.

    python -m nianbao.crawler.documents.worker CONTENT_TYPE URL MAX_PAGES < file
"""

from __future__ import annotations

import json
import sys

from .formats import read_document


def main() -> None:
    content_type, url, max_pages = sys.argv[1], sys.argv[2], int(sys.argv[3])
    body = sys.stdin.buffer.read()
    result = read_document(body, content_type, url, max_pages=max_pages)
    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False))


if __name__ == "__main__":
    main()
