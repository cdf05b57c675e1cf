"""Recipes: the parser of the recipe language, its compiler to features (FeaturePipeline), default recipes."""

from __future__ import annotations

from aml_provider.local.recipes.default import default_recipe
from aml_provider.local.recipes.pipeline import FeaturePipeline
from aml_provider.local.recipes.recipe import Recipe, parse_recipe
from aml_provider.local.recipes.source import RecipeError

__all__ = ["FeaturePipeline", "Recipe", "RecipeError", "default_recipe", "parse_recipe"]
