"""Publication outputs rendered only from result files and derived data: tables, figures, PDF report."""
