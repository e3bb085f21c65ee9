"""The Keras engines and their sparse training loop; TensorFlow is imported only when one is fitted or loaded."""

# imported in the order the registry lists their engines
from movierec.core.models.deep import keras_mf, keras_timemf, keras_deep, keras_hybrid, keras_sasrec  # noqa: F401, I001
