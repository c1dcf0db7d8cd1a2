"""Fine-tuning: exports, local LoRA/QLoRA training, special-token checks, hosted jobs."""
