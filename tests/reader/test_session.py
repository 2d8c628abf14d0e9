"""The reader at answer time: the committed weights merged and exported once, then run without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.reader.windows import Window

TEXT = "到2025年,建成充(换)电站3000座、充电桩17万个以上,公交车、出租车基本实现电动化。"


@pytest.fixture(scope="module")
def reader():
    from rag.config import Settings
    from rag.reader import Reader

    return Reader(Settings())  # exports on first use (torch, once); later loads are ONNX Runtime alone


@pytest.mark.model
def test_a_reading_gives_a_span_inside_the_window_and_an_answer_logit(reader):
    window = Window("chengdu", "成都市碳达峰实施方案", TEXT, 500, 500 + len(TEXT), 500, 500 + len(TEXT))
    far = "加强组织领导,压实各级责任,建立工作机制。"
    other = Window("chengdu", "成都市碳达峰实施方案", far, 900, 900 + len(far), 900, 900 + len(far))
    near, off = reader.read("成都到2025年要建多少个充电桩？", [window, other])
    assert 500 <= near.start < near.end <= 500 + len(TEXT)
    assert 900 <= off.start < off.end <= 900 + len(far)
    assert near.logit > off.logit  # the sentence that states the count reads as the answer
    assert reader.version == reader.weights.version and reader.load_seconds < 30


@pytest.mark.model
def test_reading_never_imports_torch(reader):
    code = ("import sys; from rag.reader import Reader, Window; r = Reader(); "
            f"r.read('充电桩建多少？', [Window('d', 't', {TEXT!r}, 0, {len(TEXT)}, 0, {len(TEXT)})]); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
