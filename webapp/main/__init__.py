"""The app's frame: home, health checks, the service worker, language and quick exit."""
