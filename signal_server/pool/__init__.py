"""The file exchange pool: give a file, get a random file that someone else gave.

:mod:`.store` keeps the pool on disk and knows nothing of HTTP; :mod:`.routes` is the
aiohttp adapter in front of it.
"""
