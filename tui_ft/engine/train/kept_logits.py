"""Supervised loss from the trained positions' logits only, off CUDA.

TRL's SFTTrainer projects the LM head in tiles (`fused_lm_head`) and, on a GPU with Triton,
only at the positions whose next token is trained. Elsewhere (the CPU) it scores every
position, prompt included, through several fp32 passes per tile: on the demo run the head then
takes about a quarter of each step. Here the model's own `logits_to_keep` (an index tensor)
projects only those positions and plain cross-entropy scores them: the same loss, a faster
step. Their logits exist whole, so batches whose logits would pass KEPT_LOGITS_LIMIT go TRL's
way; core/estimate/activations.py counts both paths (docs/training.md).
"""

from __future__ import annotations

from typing import Any

from tui_ft.core.estimate.activations import kept_logits_path

IGNORE = -100  # labels of positions the loss skips (prompt, padding)


def kept_logits_loss(model: Any, inputs: dict[str, Any], num_items: Any, vocab: int) -> Any:
    """The mean next-token cross-entropy over the trained tokens (over `num_items` when the
    trainer counts them across the accumulated batches), or None where this path does not
    apply: CUDA (TRL's own path is already compact there) or too many logits."""
    import torch
    import torch.nn.functional as F

    labels = inputs["labels"]
    # The limit counts every position, as the estimate does, which cannot know which are trained.
    if not kept_logits_path(labels.numel(), vocab, labels.device.type):
        return None
    # Hidden state i predicts token i + 1: keep the positions whose next label is trained in
    # any row (a padded batch shares the positions; a padding-free one is a single row).
    targets = labels[:, 1:]
    kept = (targets != IGNORE).any(dim=0).nonzero().squeeze(1)
    forward = {k: v for k, v in inputs.items() if k != "labels"}
    logits = model(**forward, logits_to_keep=kept, use_cache=False).logits
    kept_targets = targets[:, kept]
    total = F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)),
        kept_targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    count = (kept_targets != IGNORE).sum() if num_items is None else num_items
    # Clamped like TRL's: a batch without trained tokens gives a finite zero.
    return total / torch.as_tensor(count, device=total.device).clamp(min=1)


def sft_trainer_class() -> type:
    """TRL's SFTTrainer, its loss taken from the trained positions where that path applies
    (TRL's plain next-token loss only: no auxiliary, smoothed or custom loss)."""
    from trl import SFTTrainer

    class KeptLogitsSFTTrainer(SFTTrainer):
        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            plain = (
                not return_outputs
                and "labels" in inputs
                and getattr(self.args, "loss_type", "nll") == "nll"
                and self.label_smoother is None
                and self.compute_loss_func is None
                and not self.aux_loss_enabled
            )
            loss = None
            if plain:
                head = self.accelerator.unwrap_model(model).get_output_embeddings()
                loss = kept_logits_loss(model, inputs, num_items_in_batch, head.weight.size(0))
            if loss is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # as TRL's: DDP averages gradients
            self._count_tokens(inputs, model.training)
            return loss

        def _count_tokens(self, inputs: dict[str, Any], training: bool) -> None:
            # TRL's `num_tokens` log: input tokens seen, padding excluded.
            mode = "train" if training else "eval"
            if training:
                if "attention_mask" in inputs:
                    seen = int(inputs["attention_mask"].sum())
                else:
                    seen = int(inputs["position_ids"].size(1))
                self._total_train_tokens += seen
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]

    return KeptLogitsSFTTrainer
