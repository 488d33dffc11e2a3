"""Model code file of techscore's scoring pyfunc model (MLflow "models from code"): nothing is pickled."""

import mlflow.models

from techscore.scoring.pyfunc import ScoringPyfunc

mlflow.models.set_model(ScoringPyfunc())
