"""Recipes that train the nano components from scratch (``omniweave nano build``)."""
