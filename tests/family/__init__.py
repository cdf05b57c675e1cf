"""Tests of the model-family room."""
