"""One module per provider: `verify` a request, `parse` it into contacts. Pure, no I/O."""
