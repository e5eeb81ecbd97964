"""The new-run wizard: model, method, dataset, settings and review steps."""
