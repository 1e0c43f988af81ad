"""The MNIST-1D super-convergence study behind examples/mnist1d_superconvergence.py."""
