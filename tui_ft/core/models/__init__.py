"""Which model the user means and what it is: resolving names, the Hugging Face cache and hub,
config fields, parameter counts."""
