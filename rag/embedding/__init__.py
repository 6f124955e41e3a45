"""Text to vectors: one module per backend, the model export/quantisation steps, and the factory."""
