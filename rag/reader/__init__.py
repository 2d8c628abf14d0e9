"""Read: a fine-tuned cross-encoder that reads a question with a candidate sentence in its clause context and
says whether it answers and where the answer span lies (SQuAD 2.0 style), run by ONNX Runtime.

windows.py builds what it reads, model.py is the network (torch, for training and export only), weights.py
the committed weights and their record, export.py the merged ONNX model in the user cache, session.py the
runtime, kinds.py what kind of answer a question asks for and a sentence holds.
"""

from .kinds import KINDS, asked_kinds, held_kinds
from .session import Reader, ReaderUnavailable, Reading
from .weights import READER_RECORD, ReaderWeights
from .windows import Window, window_of

__all__ = ["KINDS", "Reader", "ReaderUnavailable", "ReaderWeights", "Reading", "READER_RECORD", "Window",
           "asked_kinds", "held_kinds", "window_of"]
