"""The municipal assistant's own package: settings, content per municipality and shared code."""
