"""collama_train: fine-tune a causal LM on MulCo configs (transformers + DeepSpeed + LoRA).

Install with ``pip install -e '.[train]'``. The training and evaluation commands arrive in
their own issue; this package is kept separate so the data side never imports torch.
"""
__version__ = "0.1.0"
