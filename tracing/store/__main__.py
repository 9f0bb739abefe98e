"""``python -m tracing.store [--db PATH] [--spool DIR]``: run the ingest service."""

from __future__ import annotations

from tracing.store.service import main

raise SystemExit(main())
