"""The gateway layer: the aiohttp application, its routes, middlewares and policies."""

__all__: list[str] = []
