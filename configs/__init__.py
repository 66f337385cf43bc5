"""The bundled configs, installed as the data package ``hil.bundled`` (setup.py maps it here).

This folder stays the one copy to edit; ``hil.config.bundled`` reads it through
``importlib.resources`` in a checkout, an editable install and a wheel alike. No code: importing
it must stay free.
"""
