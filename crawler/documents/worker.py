"""The child process of `isolate`: a document on stdin, its DocumentText as JSON on stdout.

    python -m nianbao.crawler.documents.worker CONTENT_TYPE URL MAX_PAGES MAX_MEMORY < file
"""

from __future__ import annotations

import json
import resource
import sys


def main() -> None:
    content_type, url, max_pages, max_memory = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # before the file is read or any parser imported: a file that needs more dies alone
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    from .formats import read_document

    body = sys.stdin.buffer.read()
    result = read_document(body, content_type, url, max_pages=max_pages)
    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False))


if __name__ == "__main__":
    main()
