"""Serving: an OpenAI-compatible HTTP API (``api``) and a Gradio web UI (``ui``).

Both reach the model through a ``Batcher`` (``batcher``): one worker thread owns the model and
runs concurrent requests as batches. ``codec`` turns data URLs and base64 into media and back.
The API and UI need the ``serve`` extra: ``pip install 'omniweave[serve]'``.
"""
