"""Deployment to AWS: the stacks (templates in ``templates/``, package data), the
authenticator zip built from the installed ``edge`` package, the console's Zappa settings.

Everything here is read with ``importlib.resources``, so ``privpi deploy`` works from an
installed wheel as from a checkout.
"""
