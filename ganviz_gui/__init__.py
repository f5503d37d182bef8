"""GANViz: a desktop lab for watching generative adversarial networks learn."""

__version__ = "0.1.0"
