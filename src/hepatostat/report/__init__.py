"""Reports and the demo."""
