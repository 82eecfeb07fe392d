"""What must not reach a published page: credentials in params and tags, and artifacts the user excluded.

Applied once to the data before any page, CSV or export is made, so no output can forget it.
Pure: takes a LogData and returns a masked copy, leaving the reader's data untouched.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from logger.model import LogData, Run

MASK = "[redacted]"
IGNORE_FILE = ".flowsheetignore"

# Whole words of a key (split at punctuation and camelCase) that name a secret; "max_tokens" and
# "tokenizer" are not secrets, "hf_token" and "dbPassword" are.
SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials",
                "passphrase", "bearer"}
SECRET_PAIRS = {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("auth", "token"),
                ("client", "secret"), ("session", "key"), ("signing", "key")}

# Well-known token formats, wherever they appear in a value (a command line, a tag, a param).
TOKEN_FORMATS = re.compile("|".join([
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{40,}",
    r"xox[abpors]-[A-Za-z0-9-]{10,}",  # Slack
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic
    r"sk_live_[A-Za-z0-9]{20,}",  # Stripe
    r"AIza[0-9A-Za-z_-]{35}",  # Google API key
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"glpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",  # JSON web token
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
]))
# A secret passed on a command line: `--password hunter2`, `--api-key=abc`, `TOKEN=abc`.
SECRET_OPTION = re.compile(r"(?i)((?:--?|\b)[\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)"
                           r"[\w.-]*(?:=|\s+))(\"[^\"]*\"|'[^']*'|\S+)")


@dataclass(frozen=True)
class Redaction:
    enabled: bool = True
    extra_patterns: tuple[str, ...] = ()  # regular expressions for more key names (--redact)

    def key_is_secret(self, key: str) -> bool:
        words = _words(key)
        if SECRET_WORDS.intersection(words) or SECRET_PAIRS.intersection(zip(words, words[1:])):
            return True
        return any(re.search(pattern, key, re.IGNORECASE) for pattern in self.extra_patterns)


@dataclass
class RedactionReport:
    keys: set[str] = field(default_factory=set)  # keys whose values were masked
    values: int = 0  # values masked for holding a known token format
    ignored_artifacts: int = 0  # artifacts left out by .flowsheetignore

    def message(self) -> str | None:
        parts = []
        if self.keys:
            parts.append(f"masked the values of {', '.join(sorted(self.keys))}")
        if self.values:
            parts.append(f"masked {self.values} value(s) that look like access tokens")
        if self.ignored_artifacts:
            parts.append(f"left out {self.ignored_artifacts} artifact(s) listed in {IGNORE_FILE}")
        if not parts:
            return None
        return "redaction: " + "; ".join(parts) + " (--no-redact publishes values as logged)"


def redact(data: LogData, rules: Redaction, log_dir: Path | None = None) -> tuple[LogData, RedactionReport]:
    """A copy of `data` safe to publish, and what was masked. The input is not changed."""
    report = RedactionReport()
    ignore = _ignore_spec(log_dir) if log_dir is not None else None
    if not rules.enabled and ignore is None:
        return data, report
    result = LogData(experiments={}, runs={}, problems=data.problems)
    for experiment_id, experiment in data.experiments.items():
        experiment = copy.copy(experiment)
        if rules.enabled:
            experiment.tags = _mask_mapping(experiment.tags, rules, report)
        result.experiments[experiment_id] = experiment
    for run_id, run in data.runs.items():
        result.runs[run_id] = _redact_run(run, rules, report, ignore, log_dir)
    return result, report


def _redact_run(run: Run, rules: Redaction, report: RedactionReport, ignore, log_dir: Path | None) -> Run:
    run = copy.copy(run)  # metric histories are shared: they hold numbers only
    if rules.enabled:
        run.params = _mask_mapping(run.params, rules, report)
        run.tags = _mask_mapping(run.tags, rules, report)
        run.system = _mask_mapping(run.system, rules, report)
        if isinstance(run.description, str):
            run.description = _mask_text(run.description, report)
    if ignore is not None:
        base = _relative_folder(Path(run.path), log_dir)
        # A pattern may name the file from the log directory or from the run's artifacts folder.
        kept = [a for a in run.artifacts
                if not ignore.match_file(f"{base}artifacts/{a.path}") and not ignore.match_file(a.path)]
        report.ignored_artifacts += len(run.artifacts) - len(kept)
        run.artifacts = kept
    return run


def _mask_mapping(values: dict, rules: Redaction, report: RedactionReport) -> dict:
    masked = {}
    for key, value in values.items():
        if rules.key_is_secret(str(key)) and value not in (None, ""):
            masked[key] = MASK
            report.keys.add(str(key))
        elif isinstance(value, str):
            masked[key] = _mask_text(value, report)
        else:
            masked[key] = value
    return masked


def _mask_text(text: str, report: RedactionReport) -> str:
    masked, count = TOKEN_FORMATS.subn(MASK, text)
    masked, options = SECRET_OPTION.subn(lambda m: m.group(1) + MASK, masked)
    report.values += count + options
    return masked


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    return words


def _relative_folder(folder: Path, log_dir: Path) -> str:
    try:
        return folder.resolve().relative_to(log_dir.resolve()).as_posix() + "/"
    except ValueError:
        return ""


def _ignore_spec(log_dir: Path):
    path = Path(log_dir) / IGNORE_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)
