"""Identity beyond the hot path: verified merges and their undo (`merging`), claims found in content (`claims`)."""
