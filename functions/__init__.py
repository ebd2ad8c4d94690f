"""Lambda entry points, one package per function; each handler is a few lines."""
