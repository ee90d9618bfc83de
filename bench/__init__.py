"""Side-by-side speed benchmark of cnnlab against Keras 3 and PyTorch (see bench/README.md)."""
