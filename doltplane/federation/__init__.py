"""The federation plane: a Git repository of shared roles, formulas and templates."""
