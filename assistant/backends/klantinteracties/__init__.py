"""Klantinteracties (Open Klant 2): wire types, the HTTP client and the neutral ContactRegistry.

Actions import `ContactRegistry` from `contacts`; `client` and `types` are the wire layer.
"""
