"""The portal's only door to Azure: the SDKs and MSAL are imported here and nowhere else.

Callers get small typed functions returning our dataclasses and two error classes of our own
(see errors.py), never SDK objects.
"""
