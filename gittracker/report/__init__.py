"""``git tracker report``: one self-contained HTML page with charts (docs/report.md).

``data`` gathers what the page shows, ``charts`` draws it with matplotlib (imported only there), ``page`` writes
the HTML and ``build`` ties them together. Nothing here is imported by the hot paths or by ``preview``.
"""
