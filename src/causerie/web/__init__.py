"""The ASGI app: chat socket, pages, static widget files."""
