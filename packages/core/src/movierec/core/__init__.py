"""movierec.core: data loading, recommender engines and evaluation.

Importing this package is cheap: TensorFlow, Surprise and LightFM are imported only by the
engine modules that use them.
"""

from movierec.core.data import Dataset, load_dataset
from movierec.core.errors import DataError, MovierecError

__version__ = "0.1.0"

__all__ = ["DataError", "Dataset", "MovierecError", "load_dataset", "__version__"]
