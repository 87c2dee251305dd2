"""Web push: devices, deliveries and sending. The areas queue what they send (`notify`, `queue`)."""
