"""digestbot test suite."""
