"""What must not reach a published page: credentials anywhere in the logs, and what .flowsheetignore lists.

Applied once to the data before any page, CSV or export is made, so no output can forget it.
Pure: takes a LogData and returns a masked copy, leaving the reader's data untouched.

One walk visits every field of every model object (dataclass fields, found at run time, so a field
added later is masked by default) and masks every string in it; maps also mask the value of a key
that names a secret. Names that identify something (dict keys, `*_id` fields, a metric's `key`) stay
unique when masked. Only `path` fields are left as they are: they are where the build reads files,
and no page shows them (an artifact whose path holds a secret is left out instead).
"""

from __future__ import annotations

import copy
import hashlib
import re
from array import array
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from logger.model import LogData, Problem, Run

from reporter.site.ignore import IGNORE_FILE, read_ignore_file

MASK = "[redacted]"

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
    # JSON web token, from its start only, so that "eyJeyJeyJ..." is scanned once
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    # A private key, header to footer; a block cut short (a truncated value) is masked to the end.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)",
]))
# Each pattern keeps its group 1 (what names the secret) and masks the rest of the match. Each starts
# only at the start of a word and scans a word once, so masking stays linear in the text's length.
PREFIXED_SECRETS = [
    # a secret passed on a command line: `--password hunter2`, `--api-key=abc`, `TOKEN=abc`
    re.compile(r"(?i)((?<![\w.-])(?=[\w.-]*?(?:password|passwd|secret|token|api[_-]?key|access[_-]?key))"
               r"[\w.-]*(?:=|\s+))(\"[^\"]*\"|'[^']*'|\S+)"),
    # the user and password of a URL: https://user:pass@host
    # (a path made of the URL has lost one of its slashes: https:/user:pass@host)
    re.compile(r"((?<![\w+.-])[A-Za-z][\w+.-]{0,31}:/{1,2})[^\s/?#@]*(?:@[^\s/?#@]*)*(?=@)"),
    # an Authorization header's credentials, under any key: a word that looks like a token, not prose
    re.compile(r"\b((?i:bearer|basic)\s+)(?=[\w.~+/-]*(?:[0-9+/_.~-]|[a-z][A-Z]))[\w.~+/-]{8,}=*"),
]
# A quoted name followed by more text, as in JSON text (`{"db_password": "x"}`) or the reader's
# problem reasons (`param 'db_password' logged again with another value ('x')`).
QUOTED_NAME = re.compile(r"""(["'])([\w.-]{1,100})\1""")


@dataclass(frozen=True)
class Redaction:
    enabled: bool = True
    extra_patterns: tuple[str, ...] = ()  # regular expressions for more key names (--redact)

    def key_is_secret(self, key: str) -> bool:
        words = _words(key)
        if len(words) >= 2 and words[-2] == "token" and words[-1] in ("id", "ids"):
            words = words[:-2]  # a tokenizer's "pad_token_id" is an index into its vocabulary, not a secret
        if SECRET_WORDS.intersection(words) or SECRET_PAIRS.intersection(zip(words, words[1:])):
            return True
        return any(re.search(pattern, key, re.IGNORECASE) for pattern in self.extra_patterns)


@dataclass
class RedactionReport:
    keys: set[str] = field(default_factory=set)  # keys whose values were masked
    values: int = 0  # texts masked for holding a credential
    ignored_artifacts: int = 0  # artifacts left out by .flowsheetignore
    secret_artifacts: int = 0  # artifacts left out because their names hold a credential
    ignored_runs: int = 0
    ignored_experiments: int = 0
    ignore_file_skipped: str | None = None  # why .flowsheetignore was not read

    def message(self) -> str | None:
        parts = []
        if self.keys:
            parts.append(f"masked the values of {', '.join(sorted(self.keys))}")
        if self.values:
            parts.append(f"masked {self.values} value(s) that look like access tokens")
        if self.secret_artifacts:
            parts.append(f"left out {self.secret_artifacts} artifact(s) whose names look like access tokens")
        if parts:
            parts[-1] += " (--no-redact publishes values as logged)"
        hidden = [f"{n} {what}" for n, what in [(self.ignored_experiments, "experiment(s)"),
                                                 (self.ignored_runs, "run(s)"),
                                                 (self.ignored_artifacts, "artifact(s)")] if n]
        if hidden:
            parts.append(f"left out {', '.join(hidden)} listed in {IGNORE_FILE}")
        if self.ignore_file_skipped:
            parts.append(f"did not read {IGNORE_FILE}: {self.ignore_file_skipped}")
        if not parts:
            return None
        return "redaction: " + "; ".join(parts)


def redact(data: LogData, rules: Redaction, log_dir: Path | None = None) -> tuple[LogData, RedactionReport]:
    """A copy of `data` safe to publish, and what was masked. The input is not changed.

    Raises IgnoreFileError when the log directory's .flowsheetignore exists but cannot be read."""
    report = RedactionReport()
    ignore, skipped = read_ignore_file(Path(log_dir)) if log_dir is not None else (None, None)
    if skipped is not None:
        report.ignore_file_skipped = skipped.reason
        data = LogData(data.experiments, data.runs, [*data.problems, skipped])
    if ignore is not None and log_dir is not None:
        data = _without_ignored(data, ignore, Path(log_dir), report)
    if not rules.enabled:
        return data, report
    masker = _Masker(rules, report)
    runs = {run_id: masker.without_secret_artifacts(run) for run_id, run in data.runs.items()}
    return masker.model(LogData(data.experiments, runs, data.problems)), report


def mask_problems(problems: list[Problem], rules: Redaction) -> list[Problem]:
    """Problems as a terminal may show them: their text masked as pages mask it (a CI log is published too)."""
    if not rules.enabled:
        return list(problems)
    masker = _Masker(rules, RedactionReport())
    return [masker.model(problem) for problem in problems]


class _Masker:
    """Masks every string of a model; remembers its answers, since most texts repeat from run to run."""

    def __init__(self, rules: Redaction, report: RedactionReport):
        self.rules, self.report = rules, report
        self._texts: dict[str, str | None] = {}  # None: nothing to mask
        self._secret_keys: dict[str, bool] = {}

    def value(self, value: Any) -> Any:
        """`value` with every string in it masked; the same object when nothing was (histories stay shared)."""
        kind = type(value)
        if kind in _NOTHING_TO_MASK:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self.mapping(value)
        if isinstance(value, (list, tuple)):
            masked = [self.value(item) for item in value]
            same = all(new is old for new, old in zip(masked, value))
            return value if same else (tuple(masked) if isinstance(value, tuple) else masked)
        if _is_model(value):
            return self.model(value)
        return value

    def model(self, obj: Any) -> Any:
        changes = {}
        for name, names_something in _fields_to_mask(type(obj)):
            old = getattr(obj, name)
            if type(old) in _NOTHING_TO_MASK:
                continue
            new = self.name(old) if names_something and isinstance(old, str) else self.value(old)
            if new is not old:
                changes[name] = new
        if not changes:
            return obj
        masked = copy.copy(obj)
        for name, new in changes.items():
            object.__setattr__(masked, name, new)  # frozen dataclasses (Problem) too
        return masked

    def mapping(self, values: dict) -> dict:
        masked, changed = {}, False
        for key, value in values.items():
            new_key = self.name(key) if isinstance(key, str) else key
            if isinstance(key, str) and self.key_is_secret(key) and value not in (None, "") and not _is_model(value):
                new_value = MASK
                self.report.keys.add(new_key)
            else:
                new_value = self.value(value)
            masked[new_key] = new_value
            changed = changed or new_key is not key or new_value is not value
        return masked if changed else values

    def text(self, text: str) -> str:
        masked = self._masked(text)
        if masked is not text:
            self.report.values += 1
        return masked

    def name(self, name: str) -> str:
        """A key or id, masked; a hash of the original keeps two masked names apart (and links intact)."""
        masked = self.text(name)
        if masked is name:
            return name
        return f"{masked}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"

    def key_is_secret(self, key: str) -> bool:
        known = self._secret_keys.get(key)
        if known is None:
            known = self._secret_keys[key] = self.rules.key_is_secret(key)
        return known

    def without_secret_artifacts(self, run: Run) -> Run:
        """An artifact's path names the file to copy, so it cannot be masked: one holding a secret is left out."""
        kept = [a for a in run.artifacts if self._masked(a.path) is a.path]
        if len(kept) == len(run.artifacts):
            return run
        self.report.secret_artifacts += len(run.artifacts) - len(kept)
        run = copy.copy(run)
        run.artifacts = kept
        return run

    def _masked(self, text: str) -> str:
        """The masked text; `text` itself (the same object) when nothing in it was masked."""
        masked = self._texts.get(text, _UNSEEN)
        if masked is _UNSEEN:
            masked = self._mask(text)
            masked = self._texts[text] = None if masked == text else masked
        return text if masked is None else str(masked)

    def _mask(self, text: str) -> str:
        text = TOKEN_FORMATS.sub(MASK, text)
        for pattern in PREFIXED_SECRETS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        if "'" in text or '"' in text:
            text = "\n".join(self._cut_after_secret_name(line) for line in text.split("\n"))
        return text

    def _cut_after_secret_name(self, line: str) -> str:
        """The rest of a line after a quoted name of a secret: what follows is its value, or quotes it."""
        for match in QUOTED_NAME.finditer(line):
            if self.key_is_secret(match.group(2)):
                return line[:match.end()] + " " + MASK
        return line


_UNSEEN = object()
# Values with no text in them: numbers, and the columns of metric histories (never copied).
_NOTHING_TO_MASK = {int, float, bool, type(None), array}
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _is_model(value: Any) -> bool:
    return hasattr(type(value), "__dataclass_fields__")


# Where the build reads files from: never shown on a page, and masking them would lose the files.
_READ_FROM = frozenset({"path", "artifacts_dir", "blob"})


def _fields_to_mask(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, whether it names something) for each field of a model class, but those the build reads from."""
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = tuple((f.name, f.name == "key" or f.name.endswith("_id"))
                                     for f in fields(cls) if f.name not in _READ_FROM)
    return known


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    return words


# ---------------------------------------------------------------------------- .flowsheetignore


def _without_ignored(data: LogData, ignore, log_dir: Path, report: RedactionReport) -> LogData:
    """The data without the experiments, runs (and their child runs), artifacts and problems the file lists."""
    root = log_dir.resolve()
    experiments = {eid: e for eid, e in data.experiments.items() if not _ignored(ignore, e.path, root, folder=True)}
    hidden = {run_id for run_id, run in data.runs.items()
              if run.experiment_id in data.experiments and run.experiment_id not in experiments
              or _ignored(ignore, run.path, root, folder=run.source != "plain")}
    hidden |= _descendants(data, hidden)  # a child run belongs to what its parent is: hidden with it
    runs = {}
    for run_id, run in data.runs.items():
        if run_id not in hidden:
            runs[run_id] = _without_ignored_artifacts(run, ignore, root, report)
    report.ignored_experiments += len(data.experiments) - len(experiments)
    report.ignored_runs += len(hidden)
    # A problem names a hidden run's file: hidden with the run (a child's file may match no pattern).
    hidden_files = {_relative(data.runs[run_id].path, root, folder=False) for run_id in hidden}
    problems = [p for p in data.problems if not ignore.match_file(p.file) and not _in_any(p.file, hidden_files)]
    return LogData(experiments, runs, problems)


def _in_any(file: str, paths: set[str]) -> bool:
    """Whether `file` is one of `paths` or inside one of them ("/"-separated, from the log directory)."""
    parts = file.split("/")
    return any("/".join(parts[:n]) in paths for n in range(1, len(parts) + 1))


def _descendants(data: LogData, run_ids: set[str]) -> set[str]:
    children: dict[str, list[str]] = {}
    for run_id, run in data.runs.items():
        if run.parent_run_id:
            children.setdefault(run.parent_run_id, []).append(run_id)
    found, todo = set(), list(run_ids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child not in run_ids:
                found.add(child)
                todo.append(child)
    return found


def _without_ignored_artifacts(run: Run, ignore, root: Path, report: RedactionReport) -> Run:
    if not run.artifacts:
        return run
    base = _relative(run.path, root, folder=True)
    # A pattern may name the file from the log directory or from the run's artifacts folder.
    kept = [a for a in run.artifacts
            if not ignore.match_file(f"{base}artifacts/{a.path}") and not ignore.match_file(a.path)]
    if len(kept) == len(run.artifacts):
        return run
    report.ignored_artifacts += len(run.artifacts) - len(kept)
    run = copy.copy(run)
    run.artifacts = kept
    return run


def _ignored(ignore, path: str, root: Path, folder: bool) -> bool:
    relative = _relative(path, root, folder)
    return bool(relative) and ignore.match_file(relative)


def _relative(path: str, root: Path, folder: bool) -> str:
    """`path` from the log directory, "/"-separated, ending in "/" for a folder; "" when outside it."""
    try:
        relative = Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return ""
    return relative + "/" if folder else relative
