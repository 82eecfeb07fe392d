"""runs-data.js is inlined into `reporter export`'s single file: its JSON must not change how HTML parses."""

from __future__ import annotations

import json

from reporter.site.tables import runs_data_js, script_safe


def test_comment_openers_and_script_ends_are_escaped_and_mean_the_same():
    value = "<!--<script>x</script>--> \\<!-- </SCRIPT"
    text = runs_data_js([{"attributes": {}, "params": {"p": value}, "metrics": {}, "tags": {}}], {})
    assert "<!--" not in text and "</" not in text
    payload = json.loads(text.removeprefix("window.FLOWSHEET_RUNS = ").removesuffix(";\n"))
    assert payload["rows"][0]["params"]["p"] == value
    assert json.loads(script_safe(json.dumps(value))) == value
