"""Delivery and service appointments: crews, their days, slots that fit a real route.

Pure domain (no store, no HTTP): ``model`` holds the data classes, ``travel``
the drive-time model, ``insertion`` the feasibility check of one crew's day,
``slots`` the slot search, ``routing`` the OR-Tools day plan.
"""
