"""Tokenisation and vocabulary, shared by preprocessing, training and the exported graph."""
