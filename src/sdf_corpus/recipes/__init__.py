"""The published data recipes that are more than a genre file: the agentic tool
library and transcript parser, environment augmentation, and chat export.

See docs/recipes.md for what each reproduces and its ablation switches.
"""
