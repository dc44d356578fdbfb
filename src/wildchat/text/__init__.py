"""Text tools shared by the report, the explorer and training: token counting and sentence embedding.

* :mod:`wildchat.text.tokenize` -- offline token counters (tiktoken's
  ``cl100k_base``/``o200k_base`` from bundled vocabularies, or a local Hugging
  Face tokenizer folder) and the word splitter of the vocabulary entropy;
* :mod:`wildchat.text.embed` -- the bundled all-MiniLM-L6-v2 sentence encoder
  (CPU, Hub off) and a deterministic 2-D PCA.

This package sits beside ``formats`` and ``enrich``: it imports nothing of
wildchat, so ``analyze``, ``explore`` and ``train`` can all use it without
importing one another.  Importing it loads nothing heavy; the submodules load
tiktoken, transformers or sentence-transformers only when a tool is built.
"""
