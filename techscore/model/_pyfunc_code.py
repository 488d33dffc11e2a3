"""Model code file of the techscore pyfunc model (MLflow "models from code"): nothing is pickled."""

import mlflow.models

from techscore.model.pyfunc import PDModelPyfunc

mlflow.models.set_model(PDModelPyfunc())
