"""Tokenizing (prompt, target) pairs with the loss mask, and padding them into batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.prompts import END_OF_TURN, prompt_template

IGNORE = -100


@dataclass
class Encoded:
    id: str
    input_ids: list[int]
    labels: list[int]  # IGNORE on prompt tokens

    @property
    def n_target(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def encode(
    tok, chain: str, source: str, target: str, ex_id: str = "", max_len: int = 384, max_target: int = 128
):
    """Prompt tokens (template pieces + input, input truncated to fit) then target + <end_of_turn>.

    The pieces are tokenized separately so truncation never splits the template; the result equals
    tokenizing the whole rendered text (checked in tests) because every piece boundary is a special
    token or a newline."""
    pre, post = prompt_template(chain).split("{input}")
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    pre_ids = bos + tok(pre, add_special_tokens=False).input_ids
    post_ids = tok(post, add_special_tokens=False).input_ids
    tgt_ids = tok(target + END_OF_TURN, add_special_tokens=False).input_ids
    if len(tgt_ids) > max_target:
        tgt_ids = tgt_ids[: max_target - 1] + tgt_ids[-1:]  # keep <end_of_turn>
    budget = max(0, max_len - len(pre_ids) - len(post_ids) - len(tgt_ids))
    in_ids = tok(source, add_special_tokens=False).input_ids[:budget]
    prompt = pre_ids + in_ids + post_ids
    return Encoded(ex_id, prompt + tgt_ids, [IGNORE] * len(prompt) + tgt_ids)


def collate(items: list[Encoded], pad_id: int, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    n = max(len(e.input_ids) for e in items)
    ids = torch.full((len(items), n), pad_id, dtype=torch.long)
    labels = torch.full((len(items), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), n), dtype=torch.long)
    for i, e in enumerate(items):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.input_ids)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def causal_lm_parts(model: torch.nn.Module):
    """(decoder returning hidden states, lm_head, final softcap or None) of an HF causal LM / PEFT model."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return lm.model, lm.lm_head, getattr(lm.config, "final_logit_softcapping", None)


def example_losses(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-example mean cross-entropy over its target tokens, per-example target-token count).

    The LM head runs only at target positions (the 262k-token vocabulary dominates otherwise). Each
    row's loss is its own mean, so a padded batch of several examples gives each example the loss it
    gets alone (right padding: no real token attends to a pad), and summing rows / examples per step
    makes exactly the update of one example per micro-batch (tests/test_training.py checks both)."""
    decoder, head, softcap = causal_lm_parts(model)
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    logits = head(hidden[:, :-1][keep]).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    token_losses = torch.nn.functional.cross_entropy(logits, labels[keep], reduction="none")
    rows = keep.nonzero()[:, 0]
    sums = torch.zeros(len(labels), dtype=token_losses.dtype, device=token_losses.device)
    sums = sums.index_add(0, rows, token_losses)
    counts = keep.sum(1)
    return sums / counts.clamp(min=1), counts


def target_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over all target tokens of the batch, and their number."""
    losses, counts = example_losses(model, batch)
    n = int(counts.sum())
    return (losses * counts).sum() / max(1, n), n
