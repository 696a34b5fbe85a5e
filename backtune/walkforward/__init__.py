"""Walk-forward optimisation: a study per in-sample window, its parameters judged on the
out-of-sample window that follows, the out-of-sample results stitched, plus a sealed
holdout no search reads (docs/walkforward.md)."""
