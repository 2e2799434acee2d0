from .dictionary import Dictionary  # noqa: F401
from .language_pair_dataset import LanguagePairDataset  # noqa: F401
from .iterators import batch_by_size  # noqa: F401
