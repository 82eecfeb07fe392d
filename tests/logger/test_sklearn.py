import json

import pytest

import logger

sklearn = pytest.importorskip("sklearn")


def test_model_round_trip_and_description(log_dir):
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    features, labels = make_classification(n_samples=60, n_features=4, random_state=0)
    model = LogisticRegression(C=0.5, max_iter=200).fit(features, labels)
    with logger.start_run() as run:
        uri = logger.sklearn.log_model(model, "model")
    assert uri == f"runs:/{run.info.run_id}/model"
    loaded = logger.sklearn.load_model(uri)
    assert (loaded.predict(features) == model.predict(features)).all()
    description = json.loads((run.artifact_dir / "model" / "model.json").read_text())
    assert description["class"] == "LogisticRegression"
    assert description["module"].startswith("sklearn.linear_model")
    assert description["params"]["C"] == 0.5 and description["params"]["max_iter"] == 200
    assert description["versions"]["scikit-learn"] == sklearn.__version__
    assert logger.sklearn.load_model(str(run.artifact_dir / "model")).C == 0.5


def test_load_model_errors(log_dir):
    with pytest.raises(ValueError, match="no run with id"):
        logger.sklearn.load_model("runs:/" + "0" * 32 + "/model")
    with pytest.raises(ValueError, match="runs:/"):
        logger.sklearn.load_model("models:/prod/1")
    with logger.start_run() as run:
        pass
    with pytest.raises(FileNotFoundError, match="no model"):
        logger.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    with pytest.raises(ValueError):
        logger.sklearn.load_model(f"runs:/{run.info.run_id}/../../etc")
