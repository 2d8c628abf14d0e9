"""The reader network (torch; training and the ONNX export import it, answering never does): the e5-small
BERT with its top layers retrained, a no-answer/answer head on the mean-pooled last layer (as e5 pools: the
converted pooler's weights are zeros) and a start/end head on every token."""

from __future__ import annotations

import torch
from torch import nn


class ReaderModel(nn.Module):
    """(input_ids, attention_mask) -> (answer logit [b], start logits [b, t], end logits [b, t])."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert
        hidden = bert.config.hidden_size
        self.answer = nn.Linear(hidden, 1)
        self.span = nn.Linear(hidden, 2)

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first `layers` layers (frozen in training: computed once)."""
        hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        return self._layers(hidden, attention_mask, 0, layers)

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor, first: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The layers from `first` on, then the heads."""
        hidden = self._layers(hidden, attention_mask, first, len(self.bert.encoder.layer))
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        start_end = self.span(hidden)
        return self.answer(pooled)[:, 0], start_end[..., 0], start_end[..., 1]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All twelve layers, then the heads: what the ONNX export traces."""
        return self.upper(self.lower(input_ids, attention_mask, 0), attention_mask, 0)

    def _layers(self, hidden: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int) -> torch.Tensor:
        # An additive mask as BertModel's eager attention builds it: 0 where a token is, the dtype's minimum
        # where padding is.
        extended = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.bert.encoder.layer[first:last]:
            out = layer(hidden, attention_mask=extended)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def trained_state(self, first: int) -> dict[str, torch.Tensor]:
        """What training changes: the layers from `first` on and the two heads (what the repository keeps)."""
        names = tuple(f"bert.encoder.layer.{i}." for i in range(first, len(self.bert.encoder.layer)))
        return {k: v.detach().clone() for k, v in self.state_dict().items()
                if k.startswith(names) or k.startswith(("answer.", "span."))}


def load_reader(converted_folder: str, trained: dict[str, torch.Tensor] | None = None) -> ReaderModel:
    """The e5-small BERT of the converted folder with the trained tensors (if any) put in place."""
    from transformers import BertModel

    bert = BertModel.from_pretrained(converted_folder, attn_implementation="eager")
    model = ReaderModel(bert)
    if trained:
        missing = [k for k in trained if k not in model.state_dict()]
        if missing:
            raise ValueError(f"reader weights name tensors the model does not have: {missing[:3]}")
        model.load_state_dict({k: v.float() for k, v in trained.items()}, strict=False)
    return model.eval()
