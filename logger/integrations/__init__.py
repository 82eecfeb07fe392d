"""flowsheet's integrations with training libraries, each imported only when used (`import logger` loads none).

    import logger
    logger.autolog()                  # scikit-learn, XGBoost, LightGBM and Keras, as each is imported
    logger.sklearn.autolog()          # or one library at a time, as in MLflow
    logger.xgboost.autolog()
    logger.lightgbm.autolog()
    logger.keras.autolog()

    # or explicit callbacks, for training code you call yourself:
    from .xgboost import FlowsheetCallback     # xgboost.train(..., callbacks=[...])
    from .lightgbm import FlowsheetCallback    # lightgbm.train(..., callbacks=[...])
    from .keras import FlowsheetCallback       # model.fit(..., callbacks=[...])
    from .optuna import FlowsheetCallback      # study.optimize(..., callbacks=[...])

Each module's docstring says what it logs; metric and param names are MLflow's, so runs compare across
the two. An autologged call logs into the active run, or starts a run and ends it with the call
(FAILED if the call raises). Logging never breaks training: what cannot be logged is a warning.
"""
