"""What every webhook shares: the request model, signature checks, errors and the resolver."""
