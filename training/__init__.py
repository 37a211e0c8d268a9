"""Training: datasets to Keras models to TFLite exports, evaluation and model cards."""
