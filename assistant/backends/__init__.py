"""Typed async clients for the municipal back-office standards (one package per standard).

Actions know only the neutral interfaces and the exception tree in `errors`; wire formats stay
inside each standard's package.
"""
