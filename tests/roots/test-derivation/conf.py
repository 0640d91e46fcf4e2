extensions = ["calculus_ml.sphinxext"]
