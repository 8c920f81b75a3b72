"""``python -m collama_train``, ``torchrun -m collama_train`` and ``deepspeed --module collama_train``."""
import sys

from .cli import main

sys.exit(main())
