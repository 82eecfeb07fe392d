"""The log format's names and numbers, spelled once: every writer and reader imports them from here.

docs/FORMAT.md describes the format; this module is its vocabulary. A name written anywhere else
(a test in tests/logger/test_format.py looks) would let a writer and a reader drift apart.
"""

from __future__ import annotations

import math

FORMAT_VERSION = 2  # of docs/FORMAT.md; version 2 added the `metrics` kind
# A line carries the version that brought its kind: every kind of version 1 keeps writing 1, so a file
# without `metrics` lines is a version-1 file in full, and a version-1 reader skips only those lines.
LINE_VERSION = 1
METRICS_VERSION = 2

# ---------------------------------------------------------------- files and folders of a log directory

LOG_SUFFIX = ".jsonl"
RUN_FILE = "run.jsonl"  # <experiment folder>/<run id>/run.jsonl
# One writer's own file of a run (docs/FORMAT.md "Segments"): run@<writer>.jsonl beside or instead of run.jsonl;
# <writer> is letters, digits, '_', '-' and '.' (an object-storage writer adds .<piece number> to it).
SEGMENT_MARK = "@"
SEGMENT_PREFIX = "run@"
SEGMENT_PATTERN = r"run@[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}\.jsonl"
# Pieces of experiment.jsonl uploaded to object storage (logger/storage.py): read after experiment.jsonl, by name.
EXPERIMENT_SEGMENT_PATTERN = r"experiment@[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}\.jsonl"
EXPERIMENT_FILE = "experiment.jsonl"  # <experiment folder>/experiment.jsonl
NOTES_FILE = "notes.md"  # beside experiment.jsonl, written by the user
ARTIFACTS_DIR = "artifacts"  # <run folder>/artifacts/, unless the experiment names an artifact_location

# ---------------------------------------------------------------- the fields and kinds of a line

VERSION_FIELD = "v"
KIND_FIELD = "kind"
START, METRIC, PARAM, TAG, END, RESUME, ARTIFACT = "start", "metric", "param", "tag", "end", "resume", "artifact"
DELETED, RESTORED = "deleted", "restored"  # delete_run / restore_run: the run is hidden, or shown again
INPUT = "input"  # log_input: a dataset the run used
EXPERIMENT, EXPERIMENT_TAG = "experiment", "experiment_tag"
# Version 2: the points of one call (log_metrics, a batch) in one line, as short as it can be:
# {"v":2,"kind":"metrics","t":<ms>,"s":<step>,"m":{<key>:<value>,...}}
METRICS = "metrics"
STEP_FIELD, POINTS_FIELD = "s", "m"
RUN_KINDS = (START, METRIC, METRICS, PARAM, TAG, END, RESUME, ARTIFACT, DELETED, RESTORED, INPUT)
EXPERIMENT_KINDS = (EXPERIMENT, EXPERIMENT_TAG)
END_STATUSES = ("FINISHED", "FAILED", "KILLED")

# ---------------------------------------------------------------- limits (MLflow's)

MAX_KEY_LENGTH = 250
MAX_VALUE_LENGTH = 6000
MAX_DATASET_TEXT = 65536  # each text field of an input line (a dataset's schema grows with its columns)

# ---------------------------------------------------------------- numbers JSON cannot hold

# Strict JSON has no NaN or Infinity: they travel as these strings (orjson would write null).
NAN, INF, NEG_INF = "NaN", "Infinity", "-Infinity"
NON_FINITE = {NAN: math.nan, INF: math.inf, NEG_INF: -math.inf}

# ---------------------------------------------------------------- MLflow's tag names

RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"  # a run's or an experiment's description
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"
SOURCE_NAME_TAG = "mlflow.source.name"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
ENTRY_POINT_TAG = "mlflow.project.entryPoint"
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"  # JSON list of {"path", "type": "table"} (log_table)
DATASET_CONTEXT_TAG = "mlflow.data.context"  # an input's tag: "training", "evaluation", ... (log_input)
AUTOLOGGING_TAG = "mlflow.autologging"  # the library whose autologging logged a run (logger/integrations/)
# Written by the MLflow tracking store (logger/mlflow_plugin/) for what MLflow keeps outside params and tags:
DATASETS_TAG = "mlflow.datasets"  # a run's datasets (log_inputs): a JSON list of {name, digest, source_type, context}
LOGGED_MODELS_TAG = "mlflow.log-model.history"  # MLflow 2's JSON list of a run's models (record_logged_model)
# MLflow's system tags -> the keys of a start line's `system` object (docs/FORMAT.md).
SYSTEM_TAGS = {
    USER_TAG: "user",
    SOURCE_NAME_TAG: "entry_point",
    GIT_COMMIT_TAG: "git_commit",
    GIT_BRANCH_TAG: "git_branch",
    ENTRY_POINT_TAG: "command",
}

# ---------------------------------------------------------------- flowsheet's own tags

# On a run `reporter import` could not give its own id (reporter/importers/ids.py): where it came from.
SOURCE_FORMAT_TAG = "flowsheet.source"  # the format it was read from ("tensorboard", "mlflow", ...)
SOURCE_RUN_ID_TAG = "flowsheet.source_run_id"  # its id there

# ---------------------------------------------------------------- an MLflow file store (read, never written)

LOGGED_IMAGES_TAG = "mlflow.loggedImages"  # set once by log_image(key=, step=): the run holds image series
MLFLOW_TAG_PREFIX = "mlflow."  # MLflow's own tags (run name, user, source...): hidden from tables by default
MLFLOW_STORE_DIR = "mlruns"
MLFLOW_META_FILE = "meta.yaml"
MLFLOW_TRASH_DIR = ".trash"
MLFLOW_TAGS_DIR = "tags"  # of an experiment or a run: one file per tag
MLFLOW_PARAMS_DIR = "params"
MLFLOW_METRICS_DIR = "metrics"  # one file per metric, a point a line
MLFLOW_ARTIFACTS_DIR = "artifacts"  # <experiment id>/<run id>/artifacts/ under an artifact root
MLFLOW_DATABASE = "mlflow.db"  # the SQL store's file, as MLflow's quickstart and its 3.x default name it
