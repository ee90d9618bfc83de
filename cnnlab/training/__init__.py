"""The training loop: data adapters, the trainer, the progress bar."""
