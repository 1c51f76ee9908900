"""The handoff: what trainers read, made from a run's shards.

export   text | jsonl-messages | openai-chat | hf | tokens, each with a manifest
mix      runs plus the user's own text at a stated token ratio, as shards
card     the dataset card (README.md) every run and export carries
push     the run folder to the Hugging Face Hub through huggingface_hub
"""
