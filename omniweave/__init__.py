"""omniweave: a framework for any-to-any multimodal LLMs (NExT-GPT family)."""

from omniweave.errors import InputError, OmniweaveError

__version__ = "0.1.0"
__all__ = ["InputError", "OmniweaveError", "__version__"]
